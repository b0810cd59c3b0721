import type { HazardSiteType } from '../../directory.types';
import { chunked, type SqlRunner } from '../bulk-sql';

const LOOKUP_CHUNK = 50_000;

function distinct(keys: Iterable<string>): string[] {
  return [...new Set([...keys].filter((k) => k !== ''))];
}

/** What the database already holds, asked for in sets (one query per 50k keys, never per row). */
export class DirectoryLookup {
  constructor(private readonly sql: SqlRunner) {}

  private async select<T>(sql: string, keys: Iterable<string>): Promise<T[]> {
    const out: T[] = [];
    for (const chunk of chunked(distinct(keys), LOOKUP_CHUNK)) {
      out.push(...(await this.sql.rows<T>(sql, [chunk])));
    }
    return out;
  }

  /** The divisions among `codes` that exist. */
  async divisions(codes: Iterable<string>): Promise<Set<string>> {
    const rows = await this.select<{ code: string }>(
      'SELECT code FROM divisions WHERE code = ANY($1::text[])',
      codes,
    );
    return new Set(rows.map((r) => r.code));
  }

  /** Existing grids among `codes`, with their village. */
  async grids(codes: Iterable<string>): Promise<Map<string, string>> {
    const rows = await this.select<{ code: string; village_code: string }>(
      'SELECT code, village_code FROM grids WHERE code = ANY($1::text[])',
      codes,
    );
    return new Map(rows.map((r) => [r.code, r.village_code]));
  }

  /** The external ids among `ids` that belong to someone. */
  async people(ids: Iterable<string>): Promise<Set<string>> {
    const rows = await this.select<{ external_id: string }>(
      'SELECT external_id FROM people WHERE external_id = ANY($1::text[])',
      ids,
    );
    return new Set(rows.map((r) => r.external_id));
  }

  /** Existing hazard points and risk zones among `codes`, with their type. */
  async hazardSites(codes: Iterable<string>): Promise<Map<string, HazardSiteType>> {
    const rows = await this.select<{ code: string; type: HazardSiteType }>(
      'SELECT code, type FROM hazard_sites WHERE code = ANY($1::text[])',
      codes,
    );
    return new Map(rows.map((r) => [r.code, r.type]));
  }
}
