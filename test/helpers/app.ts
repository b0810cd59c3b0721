import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { type RunningSandbox, startSandbox } from '../../src/bootstrap/sandbox';
import { createHttpApp, listenHttp } from '../../src/app.setup';
import type { GatewayRuntime } from '../../src/common/runtime.token';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import { TokensService } from '../../src/modules/auth/tokens.service';
import type { TokenRole } from '../../src/common/auth/token-role';
import { createTestDatabase } from './database';
import { trackOpen } from './open-apps';
import { freePort } from './ports';
import { uniqueQueuePrefix } from './redis';

export interface TestApp {
  app: NestExpressApplication;
  /** The simulated providers, when started with `sandbox: true`. */
  sandbox?: RunningSandbox;
  baseUrl: string;
  db: DataSource;
  http: () => ReturnType<typeof request>;
  /** One token per role; the duty officer's jurisdiction is county 513221, the grid member's grid 513221001001001. */
  tokens: Record<TokenRole, string>;
  close(): Promise<void>;
  /** Stops the whole app (HTTP and workers) and starts a new one on the same database and queues. */
  restart(): Promise<void>;
}

/** A minimal directory every app test can rely on: one county, township, village and grid. */
export const BASE_DIRECTORY_SQL = `
  INSERT INTO divisions (code, name, level, parent_code) VALUES
    ('51', '四川省', 'province', NULL),
    ('5132', '阿坝州', 'city', '51'),
    ('513221', '汶川县', 'county', '5132'),
    ('513221001', '映秀镇', 'township', '513221'),
    ('513221001001', '渔子溪村', 'village', '513221001'),
    ('510100', '成都市辖区', 'county', NULL);
  INSERT INTO grids (code, name, village_code) VALUES
    ('513221001001001', '渔子溪村第1网格', '513221001001'),
    ('513221001001002', '渔子溪村第2网格', '513221001001');
`;

/**
 * The whole gateway over HTTP, listening on a real port, on a fresh database and the test Redis.
 * With `sandbox: true` the sandbox carrier stands in for every provider (time scaled down), and
 * calls the gateway back exactly as the providers would.
 */
export async function startTestApp(
  opts: {
    seedSql?: string;
    sandbox?: boolean;
    env?: Record<string, string>;
    timeScale?: number;
    /** Runs after the sandbox is up, before the app starts (e.g. to put a proxy in front of it). */
    beforeApp?: (sandbox: RunningSandbox | undefined) => Promise<void>;
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  process.env.DATABASE_URL = database.url;
  process.env.QUEUE_PREFIX = uniqueQueuePrefix();
  process.env.APP_SECRET ??= 'test-secret-'.padEnd(40, 'x');
  process.env.LOG_LEVEL ??= 'warn';
  process.env.PUBLIC_BASE_URL = baseUrl;
  process.env.PORT = String(port);
  process.env.TWO_PERSON_RELEASE = 'off'; // suites issue red public warnings directly
  // Time runs fast in the sandbox (retries seconds apart): carrier limits per number only where
  // a suite turns them on (test/warnings/number-limits.e2e-spec.ts).
  for (const name of ['VOICE', 'SMS', 'VOICE_NIGHT', 'SMS_NIGHT'])
    process.env[`CARRIER_LIMITS_${name}`] = 'off';
  // Answers are answered once recorded, however slow the machine: suites check the replies'
  // texts. The acknowledgement deadline has its own suite (test/responses/webhook-shedding).
  process.env.ANSWER_ACK_MS = '0';
  Object.assign(process.env, opts.env ?? {});
  const migrator = new DataSource(buildDataSourceOptions(database.url));
  await migrator.initialize();
  await runMigrations(migrator);
  await migrator.query(BASE_DIRECTORY_SQL);
  if (opts.seedSql) await migrator.query(opts.seedSql);
  await migrator.destroy();

  let sandbox: RunningSandbox | undefined;
  if (opts.sandbox) {
    sandbox = await startSandbox({
      databaseUrl: database.url,
      appSecret: process.env.APP_SECRET as string,
      publicBaseUrl: baseUrl,
      timeScale: opts.timeScale ?? 0.01,
    });
    Object.assign(process.env, sandbox.env);
    await sandbox.refreshRobots();
  }
  await opts.beforeApp?.(sandbox);

  const runtime: GatewayRuntime = {
    role: 'all',
    databaseUrl: database.url,
    queue: { backend: 'redis', url: process.env.TEST_REDIS_URL as string },
    embedded: { postgres: false, redis: false },
  };
  let app: NestExpressApplication;
  try {
    app = await createHttpApp(AppModule.register(runtime));
  } catch (err) {
    await sandbox?.stop().catch(() => undefined);
    throw err;
  }
  let current = app;
  let closed = false;
  const closeAll = async () => {
    if (closed) return;
    closed = true;
    untrack();
    await current.close();
    await sandbox?.stop();
    await database.drop();
  };
  // Stopped by the test environment at the end of the file if the file's own hooks do not.
  const untrack = trackOpen({ what: `the gateway app on ${baseUrl}`, close: closeAll });
  let tokens: Record<TokenRole, string>;
  try {
    await listenHttp(app, port, '127.0.0.1');
    const tokensService = app.get(TokensService);
    const make = async (
      role: TokenRole,
      extra: { jurisdiction?: string; gridCode?: string } = {},
    ) => (await tokensService.create({ name: `test ${role}`, role, ...extra })).token;
    tokens = {
      admin: await make('admin'),
      duty_officer: await make('duty_officer', { jurisdiction: '513221' }),
      auditor: await make('auditor'),
      grid_member: await make('grid_member', { gridCode: '513221001001001' }),
    };
  } catch (err) {
    // Nothing half-started is left running when the start fails.
    await closeAll().catch(() => undefined);
    throw err;
  }
  const result: TestApp = {
    app,
    sandbox,
    baseUrl,
    db: app.get(DataSource),
    http: () => request(result.app.getHttpServer()),
    tokens,
    close: closeAll,
    restart: async () => {
      await result.app.close();
      result.app = current = await createHttpApp(AppModule.register(runtime));
      await listenHttp(result.app, port, '127.0.0.1');
      result.db = result.app.get(DataSource);
    },
  };
  return result;
}
