import * as path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres';

export interface BenchDatabase {
  /** Connection URL of the benchmark database (may hold a password: never print it). */
  url: string;
  /** Where it runs, for the report. */
  where: string;
  /** Stops the embedded server, if one was started. */
  stop(): Promise<void>;
}

/**
 * The database a benchmark runs in, created when missing and reused by name otherwise:
 * - with DATABASE_URL: database `name` on that server (the URL's own database is only used to
 *   connect; the role needs CREATEDB the first time);
 * - without: an embedded Postgres with its data in `.data/bench` (port BENCH_PG_PORT, default
 *   54339, apart from the gateway's own 54329), kept across runs so that the seed is reused.
 */
export async function openBenchDatabase(
  name: string,
  log: (msg: string) => void,
): Promise<BenchDatabase> {
  const external = process.env.DATABASE_URL;
  if (external) {
    const client = new Client({ connectionString: external });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        name,
      ]);
      if (!rowCount) {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
        log(`created database ${name}`);
      }
    } finally {
      await client.end();
    }
    const url = new URL(external);
    url.pathname = `/${encodeURIComponent(name)}`;
    return {
      url: url.toString(),
      where: `DATABASE_URL server (${url.host}), database ${name}`,
      stop: async () => {},
    };
  }

  const port = Number(process.env.BENCH_PG_PORT ?? 54339);
  const dataDir = path.resolve(process.env.BENCH_DATA_DIR ?? '.data/bench');
  const pg = await startEmbeddedPostgres({
    dataDir,
    port,
    database: name,
    log: (msg) => {
      if (!msg.startsWith('[postgres]')) log(msg);
    },
    // A server sized for the data set (1M people ≈ 0.6 GB with indexes) rather than the 128 MB
    // default; the WAL limit only speeds up seeding. Commit times are kept for the answers
    // benchmark (when each answer was committed); pg_stat_statements: the gateway benchmarks
    // report where Postgres's time went.
    postgresFlags: [
      '-c',
      'shared_buffers=1GB',
      '-c',
      'max_wal_size=4GB',
      '-c',
      'track_commit_timestamp=on',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
    ],
  });
  return {
    url: pg.url,
    where: `embedded Postgres on 127.0.0.1:${port} (${dataDir}), database ${name}`,
    stop: pg.stop,
  };
}
