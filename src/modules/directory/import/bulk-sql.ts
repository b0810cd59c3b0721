import type { QueryRunner } from 'typeorm';

/** Rows per bulk statement: large enough to amortise round trips, small enough for memory. */
export const CHUNK_SIZE = 5000;

export function chunked<T>(items: readonly T[], size = CHUNK_SIZE): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Plain SQL on the import's transaction, returning the rows (also for UPDATE/DELETE … RETURNING). */
export class SqlRunner {
  constructor(private readonly runner: QueryRunner) {}

  async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const result = (await this.runner.query(sql, params, true)) as { records?: unknown[] };
    return (result.records ?? []) as T[];
  }
}

/**
 * `SET a = EXCLUDED.a, … WHERE ROW(t.a, …) IS DISTINCT FROM ROW(EXCLUDED.a, …)` for ON CONFLICT:
 * rows already as given are skipped (not rewritten, not returned).
 */
export function setIfDistinct(alias: string, columns: readonly string[], touch = false): string {
  const set = columns.map((c) => `${c} = EXCLUDED.${c}`);
  if (touch) set.push('updated_at = now()');
  return (
    `SET ${set.join(', ')} WHERE ROW(${columns.map((c) => `${alias}.${c}`).join(', ')})` +
    ` IS DISTINCT FROM ROW(${columns.map((c) => `EXCLUDED.${c}`).join(', ')})`
  );
}

export interface UpsertColumn {
  name: string;
  /** Postgres element type of the parameter array: text, int, float8, date, uuid. */
  type: string;
  values: unknown[];
  /** Overwritten on conflict (otherwise only written on insert). Default true. */
  update?: boolean;
}

export interface UpsertStatement {
  table: string;
  /** The conflict target; these columns are never updated. */
  key: string[];
  columns: UpsertColumn[];
  /** Columns to return, besides `inserted`. */
  returning: string[];
  /** Set updated_at = now() on changed rows. */
  touch?: boolean;
}

/**
 * INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE, touching only rows that differ, so a
 * re-import of the same data writes nothing. Returns the inserted or changed rows, each with
 * `inserted` (xmax = 0: the tuple was created by this statement, not updated).
 */
export async function upsert<T extends object>(
  sql: SqlRunner,
  statement: UpsertStatement,
): Promise<Array<T & { inserted: boolean }>> {
  const { table, key, columns, returning, touch = true } = statement;
  const names = columns.map((c) => c.name);
  const params = columns.map((c, i) => `$${i + 1}::${c.type}[]`);
  const updates = columns
    .filter((c) => c.update !== false && !key.includes(c.name))
    .map((c) => c.name);
  const conflict =
    updates.length === 0 ? 'DO NOTHING' : `DO UPDATE ${setIfDistinct('t', updates, touch)}`;
  return sql.rows(
    `INSERT INTO ${table} AS t (${names.join(', ')})
     SELECT * FROM unnest(${params.join(', ')})
     ON CONFLICT (${key.join(', ')}) ${conflict}
     RETURNING ${returning.map((c) => `t.${c}`).join(', ')}, (xmax = 0) AS inserted`,
    columns.map((c) => c.values),
  );
}
