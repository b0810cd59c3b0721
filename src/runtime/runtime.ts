import * as path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { startLocalRedis, type LocalRedis } from './local-redis';
import type { QueueConnection } from './queue-backend';

export interface RuntimeEnv {
  DATABASE_URL?: string;
  REDIS_URL?: string;
  QUEUE_BACKEND?: 'redis' | 'postgres';
  DATA_DIR: string;
  EMBEDDED_PG_PORT: number;
  /** Operator CLI: share the embedded Postgres of a gateway already running on DATA_DIR. */
  attachToRunning?: boolean;
}

export interface Runtime {
  databaseUrl: string;
  queue: QueueConnection;
  /** Which servers this process started itself. */
  embedded: { postgres: boolean; redis: boolean };
  /**
   * Stops what was started (Redis, then Postgres); idempotent. Call it on SIGINT/SIGTERM after the
   * application (queues, workers, database pools) has been closed.
   */
  stop(): Promise<void>;
}

export const EMBEDDED_DATABASE = 'warning_gateway';

/**
 * Decides where data and queues live, starting local servers for whatever is not configured:
 *
 * - DATABASE_URL unset → embedded Postgres in `<DATA_DIR>/postgres` on 127.0.0.1:EMBEDDED_PG_PORT,
 *   database `warning_gateway`.
 * - REDIS_URL set → BullMQ on that Redis (QUEUE_BACKEND is then ignored).
 * - REDIS_URL unset → QUEUE_BACKEND if given; `redis` means a local `redis-server` on
 *   EMBEDDED_PG_PORT + 1 (error naming the package to install when there is none).
 * - Neither set → BullMQ's PostgreSQL backend on the gateway's own database (schema `bullmq`).
 *   Chosen because test/runtime/postgres-queue-backend.e2e-spec.ts shows it does everything the
 *   gateway needs from BullMQ — priorities, delayed jobs, a limiter shared by all workers,
 *   jobId de-duplication, removing a delayed job by id, retries with backoff, QueueEvents and job
 *   counts (plus stalled-job recovery, manual rate limits, global concurrency, schedulers) — with
 *   the same results as on Redis. So a bare start needs only the embedded Postgres: no extra
 *   package, no second server. Redis stays the choice for high volume (set REDIS_URL).
 */
export async function prepareRuntime(
  env: RuntimeEnv,
  log: (msg: string) => void,
): Promise<Runtime> {
  const dataDir = path.resolve(env.DATA_DIR);
  let postgres: EmbeddedPostgres | undefined;
  let redis: LocalRedis | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const server of [redis, postgres]) {
        try {
          await server?.stop();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length) throw errors[0];
    })();
    return stopping;
  };

  try {
    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      log(
        `DATABASE_URL is not set: using an embedded Postgres (data in ${path.join(dataDir, 'postgres')})`,
      );
      postgres = await startEmbeddedPostgres({
        dataDir,
        port: env.EMBEDDED_PG_PORT,
        database: EMBEDDED_DATABASE,
        log,
        attachToRunning: env.attachToRunning,
        // Every BullMQ Queue/Worker/QueueEvents on the Postgres backend has its own pool (up to 10
        // connections, +1 LISTEN connection), next to the TypeORM pool: 100 would run out.
        postgresFlags: ['-c', 'max_connections=300'],
      });
      databaseUrl = postgres.url;
    }

    let queue: QueueConnection;
    if (env.REDIS_URL) {
      if (env.QUEUE_BACKEND === 'postgres') {
        log('QUEUE_BACKEND=postgres is ignored because REDIS_URL is set: queues use Redis');
      }
      queue = { backend: 'redis', url: env.REDIS_URL };
    } else if (env.QUEUE_BACKEND === 'redis') {
      const port = env.EMBEDDED_PG_PORT + 1;
      log(
        `QUEUE_BACKEND=redis without REDIS_URL: starting a local redis-server on 127.0.0.1:${port}`,
      );
      redis = (await startLocalRedis({ dataDir, port, log })) ?? undefined;
      if (!redis) {
        throw new Error(
          'QUEUE_BACKEND=redis but REDIS_URL is not set and redis-server is not installed. ' +
            'Install it (`apt-get install redis-server`) or set REDIS_URL=redis://host:6379.',
        );
      }
      queue = { backend: 'redis', url: redis.url };
    } else {
      log(
        'REDIS_URL is not set: queues use the BullMQ PostgreSQL backend (schema "bullmq" of the database)',
      );
      queue = { backend: 'postgres', connectionString: databaseUrl };
    }

    return {
      databaseUrl,
      queue,
      embedded: { postgres: postgres !== undefined, redis: redis !== undefined },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
