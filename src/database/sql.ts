import { DataSource, type EntityManager } from 'typeorm';

/**
 * Rows of a statement, whatever its kind. TypeORM's plain `query()` answers UPDATE/DELETE …
 * RETURNING with `[rows, affectedCount]` but SELECT and INSERT with the rows: this always gives
 * the rows (the query runner's structured result).
 */
export async function rows<T = Record<string, unknown>>(
  db: DataSource | EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const own = db instanceof DataSource ? db.createQueryRunner() : undefined;
  const runner = own ?? (db as EntityManager).queryRunner;
  if (!runner)
    throw new Error('rows(): an EntityManager outside a transaction has no query runner');
  try {
    const result = (await runner.query(sql, params, true)) as { records?: unknown[] };
    return (result.records ?? []) as T[];
  } finally {
    await own?.release();
  }
}

/** Runs `fn` in the caller's transaction when one is given, else in a new one of `db`. */
export function inTransaction<T>(
  db: DataSource,
  tx: EntityManager | undefined,
  fn: (m: EntityManager) => Promise<T>,
): Promise<T> {
  return tx ? fn(tx) : db.transaction(fn);
}
