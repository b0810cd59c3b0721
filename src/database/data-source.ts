import 'reflect-metadata';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export function buildDataSourceOptions(url: string): DataSourceOptions {
  return postgresOptions(url, { max: 20, application_name: 'warning-gateway' });
}

function postgresOptions(url: string, extra: { max: number; application_name: string }) {
  return {
    type: 'postgres' as const,
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    // Each migration in its own transaction: a failure leaves the schema at the last good step.
    migrationsTransactionMode: 'each' as const,
    extra,
  };
}

/**
 * Name of the second connection pool: answers and provider callbacks (keypresses, SMS replies,
 * receipts) never wait behind a fan-out's statements for a connection of the main pool.
 */
export const ANSWERS_DB = 'answers';

/** The answers pool: same database and entities, its own connections, no migrations. */
export function buildAnswersDataSourceOptions(url: string, poolSize: number): TypeOrmModuleOptions {
  return {
    ...postgresOptions(url, { max: poolSize, application_name: 'warning-gateway-answers' }),
    name: ANSWERS_DB,
    migrations: [],
  };
}

/** Key of the advisory lock that serialises migrations when api and workers start together. */
const MIGRATION_LOCK_KEY = 7_263_001;

/** Applies pending migrations under an advisory lock; returns the names applied. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    await runner.release();
  }
}

/** For the TypeORM CLI (`typeorm -d dist/database/data-source.js`). */
export default new DataSource(
  buildDataSourceOptions(process.env.DATABASE_URL ?? 'postgres://localhost/warning_gateway'),
);
