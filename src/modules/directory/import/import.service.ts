import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { SecretBox } from '../../../common/crypto/secret-box';
import { SECRET_BOX } from '../../../common/crypto/secret-box.token';
import { AppException } from '../../../common/errors/app.exception';
import { AuditService } from '../../audit/audit.service';
import { SqlRunner } from './bulk-sql';
import { DirectoryBulkWriter } from './directory-bulk-writer';
import { IMPORT_HANDLERS } from './import-kinds';
import { fromRecords, parseImportText } from './import-parser';
import { importRejected } from './import-rejected';
import {
  IMPORT_KINDS,
  type ImportFormat,
  type ImportKind,
  type ImportOptions,
  type ImportRecord,
  type ImportResult,
  isImportKind,
  type SourceFile,
} from './import.types';
import { checkColumns } from './validators/validator';
import { DirectoryLookup } from './validators/directory-lookup';

/** Directory imports run one at a time: concurrent upserts of the same rosters could deadlock. */
const IMPORT_LOCK_KEY = 7_263_101;

/**
 * Imports roster files into the directory. A file is checked whole (fields, formats, references
 * to the directory and to other rows, duplicate keys) and written in one transaction with bulk
 * statements, or refused whole with a report of every bad row (AppException IMPORT_REJECTED).
 */
@Injectable()
export class ImportService {
  private readonly logger = new Logger(ImportService.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(SECRET_BOX) private readonly secretBox: SecretBox,
    private readonly audit: AuditService,
  ) {}

  /** A file's text: CSV with a header row, or JSON lines. */
  async importText(
    kind: ImportKind,
    text: string,
    format: ImportFormat,
    opts: ImportOptions = {},
  ): Promise<ImportResult> {
    const started = Date.now();
    return this.run(kind, parseImportText(text, format), opts, started);
  }

  /** Records built in code (the seed), with the same keys as the file columns. */
  async importRecords(
    kind: ImportKind,
    records: readonly ImportRecord[],
    opts: ImportOptions = {},
  ): Promise<ImportResult> {
    return this.run(kind, fromRecords(records), opts);
  }

  private async run(
    kind: ImportKind,
    file: SourceFile,
    opts: ImportOptions,
    started = Date.now(),
  ): Promise<ImportResult> {
    if (!isImportKind(kind)) {
      throw AppException.validation([
        {
          field: 'kind',
          message: `unknown import kind ${String(kind)}; one of ${IMPORT_KINDS.join(', ')}`,
        },
      ]);
    }
    const total = file.rows.length;
    const empty: ImportResult = { kind, rows: 0, inserted: 0, updated: 0, unchanged: 0 };
    if (total === 0 && file.columns.size === 0 && file.problems.length === 0) return empty;

    if (total === 0 && file.problems.length > 0) throw importRejected(file.problems, total);
    const handler = IMPORT_HANDLERS[kind];
    const columnProblems = checkColumns(file.columns, handler.columns);
    if (columnProblems.length > 0)
      throw importRejected([...file.problems, ...columnProblems], total);

    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const sql = new SqlRunner(runner);
      await sql.rows('SELECT pg_advisory_xact_lock($1)', [IMPORT_LOCK_KEY]);
      const checked = await handler.check(file, new DirectoryLookup(sql));
      const problems = [...file.problems, ...checked.problems];
      if (problems.length > 0) throw importRejected(problems, total);
      const checkedAt = Date.now();

      let done = 0;
      opts.onProgress?.(0, total);
      const writer = new DirectoryBulkWriter(sql, this.secretBox, (rows) => {
        done += rows;
        opts.onProgress?.(done, total);
      });
      const { inserted, updated } = await checked.write(writer);
      // A people import files the roster of the counties its rows belong to (the roster report
      // tells per county whether it was filed): their codes, never the rows.
      const counties =
        kind === 'people'
          ? [
              ...new Set(
                file.rows
                  .map((r) => String(r.values.division ?? ''))
                  .filter((code) => /^\d{6,}$/.test(code))
                  .map((code) => code.slice(0, 6)),
              ),
            ].sort()
          : undefined;
      // One event per import, with its counts (never the rows: they hold phone numbers).
      await this.audit.append(
        [
          {
            actor: opts.actor ?? 'system',
            action: 'directory.imported',
            subjectType: 'directory',
            subjectId: kind,
            data: {
              kind,
              rows: total,
              inserted,
              updated,
              unchanged: total - inserted - updated,
              ...(counties ? { counties } : {}),
            },
          },
        ],
        runner.manager,
      );
      await runner.commitTransaction();

      const result = {
        kind,
        rows: total,
        inserted,
        updated,
        unchanged: total - inserted - updated,
      };
      this.logger.log(
        `${kind}: ${total} rows, ${inserted} inserted, ${updated} updated, ` +
          `${result.unchanged} unchanged in ${Date.now() - started} ms ` +
          `(read and checked in ${checkedAt - started} ms)`,
      );
      return result;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw err;
    } finally {
      await runner.release();
    }
  }
}
