import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import type { GatewayRuntime } from '../common/runtime.token';
import {
  ConfigurationError,
  type EnvironmentVariables,
  validateEnv,
} from '../config/env.validation';
import { buildDataSourceOptions, runMigrations } from '../database/data-source';
import { prepareRuntime } from '../runtime/runtime';
import { ensureAppSecret } from './app-secret';

export interface Prepared {
  env: EnvironmentVariables;
  runtime: GatewayRuntime;
  stop(): Promise<void>;
}

const say = (msg: string) => process.stderr.write(`[gateway] ${msg}\n`);

/**
 * Everything that must happen before Nest starts: read and validate configuration, start the
 * embedded Postgres / queue backend when none is configured, and apply migrations.
 */
export async function prepare(opts: { attachToRunning?: boolean } = {}): Promise<Prepared> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let env: EnvironmentVariables;
  try {
    env = validateEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigurationError) {
      say(err.message);
      process.exit(1);
    }
    throw err;
  }
  if (!env.APP_SECRET) {
    env.APP_SECRET = ensureAppSecret(env.DATA_DIR);
    process.env.APP_SECRET = env.APP_SECRET;
  }

  // Server output ([postgres] / [redis] lines) only when debugging; our own lines always.
  const verbose = env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace';
  const log = (msg: string) => {
    if (verbose || !/^\[(postgres|redis)\]/.test(msg)) say(msg);
  };
  const resolved = await prepareRuntime({ ...env, attachToRunning: opts.attachToRunning }, log);
  // Nest's ConfigModule validates process.env again: keep it in step with what was resolved.
  process.env.DATABASE_URL = resolved.databaseUrl;

  const ds = new DataSource(buildDataSourceOptions(resolved.databaseUrl));
  await ds.initialize();
  try {
    const applied = await runMigrations(ds);
    if (applied.length) say(`applied migrations: ${applied.join(', ')}`);
  } finally {
    await ds.destroy();
  }

  const runtime: GatewayRuntime = {
    role: env.ROLE,
    databaseUrl: resolved.databaseUrl,
    queue: resolved.queue,
    embedded: resolved.embedded,
  };
  return { env, runtime, stop: () => resolved.stop() };
}
