import { Injectable, Logger } from '@nestjs/common';
import { rejectedProblems } from '../import/import-rejected';
import { ImportService } from '../import/import.service';
import type { ImportKind, ImportRecord, ImportResult } from '../import/import.types';
import {
  generateCounty,
  type GenerateCountyOptions,
  type GeneratedCounty,
  SEED_STEPS,
} from './county-generator';

export interface SeedCountyOptions extends GenerateCountyOptions {
  /** Residents per import transaction (default 20 000). */
  chunkSize?: number;
  /** Rows written so far, of all kinds, and the total expected. */
  onProgress?(done: number, total: number): void;
}

export interface SeedSummary {
  countyCode: string;
  countyName: string;
  seed: number;
  counts: GeneratedCounty['counts'];
  /** Import results summed per kind (people = officials + residents). */
  results: ImportResult[];
  ms: number;
}

/**
 * Generates a synthetic county and writes it through ImportService.importRecords, the path every
 * roster file takes (validation and bulk writer; no text is produced or parsed). Residents go in
 * chunks, each its own transaction, so memory stays flat for a million of them; seeding again
 * with the same options changes nothing.
 */
@Injectable()
export class SeedService {
  private readonly logger = new Logger(SeedService.name);

  constructor(private readonly imports: ImportService) {}

  async seedCounty(opts: SeedCountyOptions): Promise<SeedSummary> {
    const started = Date.now();
    const county = generateCounty(opts);
    const { counts } = county;
    const total =
      county.divisions.length +
      county.grids.length +
      county.officials.length +
      county.contacts.length +
      counts.residents +
      county.hazardPoints.length +
      county.riskZones.length +
      county.robots.length +
      county.broadcastTerminals.length;
    const results = new Map<ImportKind, ImportResult>();
    let written = 0;

    const write = async (kind: ImportKind, records: ImportRecord[]) => {
      const base = written;
      const result = await this.imports
        .importRecords(kind, records, {
          onProgress: (done) => opts.onProgress?.(base + done, total),
        })
        .catch((err: unknown) => {
          // A generator bug: say which records were refused and why (no secrets in reports).
          const problems = rejectedProblems(err);
          if (problems) {
            this.logger.error(
              `generated ${kind} refused: ` +
                problems
                  .slice(0, 5)
                  .map((p) => `row ${p.row ?? '-'} ${p.field}: ${p.messageEn}`)
                  .join('; '),
            );
          }
          throw err;
        });
      written = base + records.length;
      const sum = results.get(kind) ?? { kind, rows: 0, inserted: 0, updated: 0, unchanged: 0 };
      results.set(kind, {
        kind,
        rows: sum.rows + result.rows,
        inserted: sum.inserted + result.inserted,
        updated: sum.updated + result.updated,
        unchanged: sum.unchanged + result.unchanged,
      });
    };

    opts.onProgress?.(0, total);
    for (const { kind, part } of SEED_STEPS) {
      if (part === 'residents') {
        for (const chunk of county.residents(opts.chunkSize)) await write(kind, chunk);
      } else {
        await write(kind, county[part] as ImportRecord[]);
      }
    }

    const summary: SeedSummary = {
      countyCode: county.plan.county.code,
      countyName: county.plan.county.name,
      seed: county.plan.options.seed,
      counts,
      results: [...results.values()],
      ms: Date.now() - started,
    };
    this.logger.log(
      `seeded ${summary.countyName} (${summary.countyCode}, seed ${summary.seed}): ` +
        `${counts.townships} townships, ${counts.villages} villages, ${counts.grids} grids, ` +
        `${counts.officials} officials, ${counts.residents} residents in ${summary.ms} ms`,
    );
    return summary;
  }
}
