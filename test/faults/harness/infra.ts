import * as fs from 'node:fs';
import * as path from 'node:path';
import Redis from 'ioredis';
import {
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '../../../src/runtime/embedded-postgres';
import { startLocalRedis, type LocalRedis } from '../../../src/runtime/local-redis';
import { freePort, sleep } from './processes';
import type { SuiteInfra } from './suite';

export interface StartedInfra extends SuiteInfra {
  stop(): Promise<void>;
}

/**
 * The suite's servers: a Postgres server (the one given, e.g. the test run's, or an embedded one
 * started here) and a redis-server of its own with append-only persistence, so that it can be
 * restarted on its data and flushed without touching anyone else's Redis.
 */
export async function startInfra(opts: {
  dir: string;
  pgAdminUrl?: string;
  log: (msg: string) => void;
}): Promise<StartedInfra> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const quiet = (msg: string) => {
    if (!/^\[(postgres|redis)\]/.test(msg)) opts.log(msg);
  };
  let postgres: EmbeddedPostgres | undefined;
  let pgAdminUrl = opts.pgAdminUrl;
  if (!pgAdminUrl) {
    postgres = await startEmbeddedPostgres({
      dataDir: path.join(opts.dir, 'pg'),
      port: await freePort(),
      database: 'postgres',
      log: quiet,
      // Throw-away cluster: durability off; room for the pools of the API and the workers.
      postgresFlags: [
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
        '-c', 'max_connections=300',
      ], // prettier-ignore
    });
    pgAdminUrl = postgres.url;
  }
  const redisDir = path.join(opts.dir, 'redis-data');
  fs.rmSync(redisDir, { recursive: true, force: true });
  const redisPort = await freePort();
  const startRedis = async (): Promise<LocalRedis> => {
    const r = await startLocalRedis({ dataDir: redisDir, port: redisPort, log: quiet });
    if (!r) throw new Error('redis-server is not installed (apt-get install redis-server)');
    return r;
  };
  let redis = await startRedis();
  return {
    pgAdminUrl,
    redisUrl: redis.url,
    restartRedis: async (downMs: number) => {
      await redis.stop();
      opts.log(`Redis stopped (SIGTERM: append-only file written)`);
      await sleep(downMs);
      redis = await startRedis();
      opts.log(`Redis started again on its data`);
    },
    flushRedis: async () => {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
    stop: async () => {
      await redis.stop().catch(() => undefined);
      await postgres?.stop().catch(() => undefined);
    },
  };
}
