import {
  createPostgresBackend,
  getDefaultBackendFactory,
  setDefaultBackendFactory,
  type ConnectionOptions,
} from 'bullmq';

/**
 * Where BullMQ keeps its queues.
 *
 * - `redis`: the classic backend. Queue keys carry the hash-tagged `prefix` (QUEUE_PREFIX).
 * - `postgres`: BullMQ 6's PostgreSQL backend. All queues live in the schema `bullmq` of the given
 *   database (created and migrated on first connect); BullMQ's `prefix` option is ignored there,
 *   the queue name alone identifies a queue inside the schema.
 */
export type QueueConnection =
  { backend: 'redis'; url: string } | { backend: 'postgres'; connectionString: string };

/**
 * What to pass as `connection` to BullMQ (`new Queue(name, { connection, prefix })`, `new Worker`,
 * `new QueueEvents`, or `BullModule.forRoot({ connection })`).
 *
 * BullMQ picks the backend through a process-wide default factory: for `postgres` this installs
 * `createPostgresBackend` as that default (for `redis` it restores the Redis default if we had
 * switched it). Call this before constructing any Queue/Worker/QueueEvents; one process uses one
 * backend. Each Queue/Worker/QueueEvents then opens its own `pg.Pool` (plus one LISTEN connection
 * for workers and QueueEvents).
 */
export function bullConnectionOptions(conn: QueueConnection): ConnectionOptions {
  if (conn.backend === 'postgres') {
    if (getDefaultBackendFactory() !== createPostgresBackend) {
      setDefaultBackendFactory(createPostgresBackend);
    }
    // `migrate: true`: create/upgrade the `bullmq` schema on connect (serialised by an advisory lock,
    // so api and worker processes may start together).
    return { connectionString: conn.connectionString, migrate: true };
  }
  if (getDefaultBackendFactory() === createPostgresBackend) {
    setDefaultBackendFactory();
  }
  return redisOptionsFromUrl(conn.url);
}

/** ioredis options for a redis:// or rediss:// URL, as BullMQ workers need them. */
export function redisOptionsFromUrl(url: string): ConnectionOptions {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must start with redis:// or rediss:// (got ${parsed.protocol}//)`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) {
    throw new Error('REDIS_URL: the path must be a database number such as /0');
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: { servername: parsed.hostname } } : {}),
    // Required by BullMQ workers: blocking commands must not be cut off by a retry limit.
    maxRetriesPerRequest: null,
  };
}
