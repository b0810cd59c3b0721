/**
 * The whole gateway (HTTP, workers, real Postgres and Redis) in this process, on a fresh database
 * seeded with a synthetic county, for the fanout, answers and scale benchmarks.
 *
 * Postgres: DATABASE_URL's server when set, otherwise the embedded one of bench-db.ts; a database
 * of its own per run, dropped at the end. Redis: REDIS_URL, otherwise a local redis-server
 * (BENCH_REDIS_PORT, default 54340); a queue prefix of its own per run.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppModule } from '../src/app.module';
import { createHttpApp, listenHttp } from '../src/app.setup';
import { TWILIO_CLIENT } from '../src/channels/channels.tokens';
import type { TwilioClient } from '../src/channels/twilio/twilio-client.factory';
import type { GatewayRuntime } from '../src/common/runtime.token';
import { buildDataSourceOptions, runMigrations } from '../src/database/data-source';
import { TokensService } from '../src/modules/auth/tokens.service';
import { startLocalRedis } from '../src/runtime/local-redis';
import { openBenchDatabase } from './bench-db';
import { startTwilioStub, type TwilioStub } from './twilio-stub';

export type ProviderKind = 'null' | 'http';

export const BENCH_COUNTY = '513221';
export const ACCOUNT_SID = `AC${'b'.repeat(32)}`;
export const AUTH_TOKEN = 'bench-twilio-auth-token';
export const FROM_NUMBER = '+8610000000000';
/** People per grid in the synthetic county (the first person of each grid is its grid leader). */
export const PEOPLE_PER_GRID = 100;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;

export interface Machine {
  cores: number;
  cpu: string;
  memoryGb: number;
  loadavg: number[];
}

export function machine(): Machine {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** A fresh Postgres database and a Redis for one benchmark run. */
export interface BenchBackends {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  where: string;
  versions: { node: string; postgres: string; redis: string };
  close(): Promise<void>;
}

export async function openBackends(
  label: string,
  log: (msg: string) => void,
): Promise<BenchBackends> {
  const name = `${label}_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const db = await openBenchDatabase(name, log);
  let redisUrl = process.env.REDIS_URL;
  let stopRedis = async () => undefined as void;
  if (!redisUrl) {
    const redis = await startLocalRedis({
      dataDir: path.resolve(process.env.BENCH_DATA_DIR ?? '.data/bench'),
      port: Number(process.env.BENCH_REDIS_PORT ?? 54340),
      log,
      persistent: false,
    });
    if (!redis) {
      await db.stop();
      throw new Error('no REDIS_URL and no redis-server on PATH (apt-get install redis-server)');
    }
    redisUrl = redis.url;
    stopRedis = () => redis.stop();
  }
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  const [{ server_version: postgres }] = (await pg.query(`SHOW server_version`)).rows;
  await pg.end();
  const r = new IORedis(redisUrl, { maxRetriesPerRequest: 1 });
  const info = await r.info('server');
  await r.quit();
  return {
    databaseUrl: db.url,
    redisUrl,
    queuePrefix: `{bench${randomBytes(3).toString('hex')}}`,
    where: db.where.replace(/\/\/[^@]*@/, '//'),
    versions: {
      node: process.version,
      postgres,
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    },
    close: async () => {
      const admin = new URL(db.url);
      admin.pathname = '/postgres';
      const c = new Client({ connectionString: admin.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
      await c.end();
      await stopRedis();
      await db.stop();
    },
  };
}

/**
 * The directory of a synthetic county of `people` people (set-based, in Postgres): grids of
 * PEOPLE_PER_GRID people, 4 grids a village, 10 villages a township; the first person of each grid
 * is its grid leader (a responsible person: SMS and a call for a red warning), the others are
 * residents (an SMS); one mobile each, +86139 followed by the person's number on 8 digits. Hazard
 * point HP-BENCH threatens every resident (an imminent warning naming it calls them too).
 */
export function countySql(people: number): string {
  const grids = Math.max(1, Math.ceil(people / PEOPLE_PER_GRID));
  const villages = Math.ceil(grids / 4);
  const townships = Math.ceil(villages / 10);
  return `
    INSERT INTO divisions (code, name, level, parent_code) VALUES
      ('51', '四川省', 'province', NULL), ('5132', '阿坝州', 'city', '51'),
      ('${BENCH_COUNTY}', '汶川县', 'county', '5132');
    INSERT INTO divisions (code, name, level, parent_code)
      SELECT '${BENCH_COUNTY}' || lpad(t::text, 3, '0'), '乡镇' || t, 'township', '${BENCH_COUNTY}'
        FROM generate_series(1, ${townships}) t;
    INSERT INTO divisions (code, name, level, parent_code)
      SELECT '${BENCH_COUNTY}' || lpad((1 + (v - 1) / 10)::text, 3, '0') || lpad((1 + (v - 1) % 10)::text, 3, '0'),
             '村' || v, 'village', '${BENCH_COUNTY}' || lpad((1 + (v - 1) / 10)::text, 3, '0')
        FROM generate_series(1, ${villages}) v;
    CREATE TEMP TABLE bench_grids AS
      SELECT g - 1 AS n,
             '${BENCH_COUNTY}' || lpad((1 + (v - 1) / 10)::text, 3, '0') || lpad((1 + (v - 1) % 10)::text, 3, '0') AS village,
             '${BENCH_COUNTY}' || lpad((1 + (v - 1) / 10)::text, 3, '0') || lpad((1 + (v - 1) % 10)::text, 3, '0')
               || lpad((1 + (g - 1) % 4)::text, 3, '0') AS code
        FROM generate_series(1, ${grids}) g, LATERAL (SELECT 1 + (g - 1) / 4 AS v) x;
    INSERT INTO grids (code, name, village_code) SELECT code, '网格' || n, village FROM bench_grids;
    INSERT INTO people (external_id, name, role, division_code, grid_code)
      SELECT 'B' || i, '居民' || i, CASE WHEN i <= ${grids} THEN 'grid_leader' ELSE 'resident' END,
             g.village, g.code
        FROM generate_series(1, ${people}) i JOIN bench_grids g ON g.n = (i - 1) % ${grids};
    INSERT INTO contact_points (person_id, kind, value, priority)
      SELECT id, 'mobile', '+86139' || lpad(substr(external_id, 2), 8, '0'), 1 FROM people;
    INSERT INTO hazard_sites (code, type, name, hazard, division_code, threatened_people)
      VALUES ('HP-BENCH', 'hazard_point', '基准滑坡隐患点', 'landslide', '${BENCH_COUNTY}', ${people});
    INSERT INTO hazard_site_people SELECT 'HP-BENCH', id, 'threatened' FROM people WHERE role = 'resident';
    DROP TABLE bench_grids;
    ANALYZE;`;
}

/** The mobile number of synthetic person i (1-based). */
export const mobileOf = (i: number) => `+86139${String(i).padStart(8, '0')}`;

export const hoursFromNow = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();

/** A red geological-hazard meteorological risk warning to the whole county: an SMS each, calls to grid leaders. */
export function countyRedWarning() {
  return {
    kind: 'meteorological_risk',
    level: 'red',
    hazard: 'landslide',
    headline: '汶川县地质灾害气象风险红色预警',
    description: '受强降雨影响，全县地质灾害风险很高。',
    instruction: '立即转移受威胁群众',
    areas: [BENCH_COUNTY],
    audience: ['grid_leader', 'resident'],
    effective: hoursFromNow(0),
    expires: hoursFromNow(24),
  };
}

/** A red imminent warning naming HP-BENCH: every resident gets an SMS and a call. */
export function countyImminentWarning() {
  return {
    kind: 'imminent',
    level: 'red',
    hazard: 'landslide',
    headline: '汶川县滑坡临灾预警',
    description: '隐患点出现裂缝扩大，预计两小时内可能发生滑坡。',
    instruction: '立即撤离至避险点',
    hazardPoints: ['HP-BENCH'],
    areas: [BENCH_COUNTY],
    effective: hoursFromNow(0),
    onset: hoursFromNow(2),
    expires: hoursFromNow(24),
    extent: '隐患点下方200米范围',
    impact: { people: 100, households: 30 },
    shelter: '县城避险点',
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** What the in-process null provider accepted, per `To` number (as TwilioStub.sent). */
export interface NullProvider {
  sent: { sms: Map<string, number>; voice: Map<string, number> };
  totals(): { sms: number; voice: number };
}

/**
 * Replaces the SDK client's messages.create and calls.create (the cached list resources the
 * channels call) with functions that accept at once: the gateway's own code runs unchanged, the
 * provider costs nothing. Bench-only; nothing in src knows about it.
 */
export function installNullProvider(client: TwilioClient): NullProvider {
  const sent = { sms: new Map<string, number>(), voice: new Map<string, number>() };
  // Message ids unique across processes (--workers N: each process has a null provider of its
  // own): the process id, then a counter, as 32 hex digits. Ids repeated across processes were
  // refused by the gateway's unique provider id and recorded one by one ("already recorded").
  const prefix = process.pid.toString(16).padStart(8, '0');
  let n = 0;
  const sid = (kind: 'SM' | 'CA') => `${kind}${prefix}${(++n).toString(16).padStart(24, '0')}`;
  const count = (m: Map<string, number>, to: string) => m.set(to, (m.get(to) ?? 0) + 1);
  const messages = client.messages as unknown as { create: (o: { to: string }) => unknown };
  const calls = client.calls as unknown as { create: (o: { to: string }) => unknown };
  messages.create = async (o) => {
    count(sent.sms, o.to);
    return { sid: sid('SM'), status: 'queued', numSegments: '1' };
  };
  calls.create = async (o) => {
    count(sent.voice, o.to);
    return { sid: sid('CA'), status: 'queued' };
  };
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return { sent, totals: () => ({ sms: sum(sent.sms), voice: sum(sent.voice) }) };
}

export interface BenchGateway {
  app: NestExpressApplication;
  baseUrl: string;
  db: DataSource;
  token: string;
  provider: ProviderKind;
  /** Where the SMS and calls went (the stub server or the null provider). */
  contacted: NullProvider;
  /** The Twilio-like server (also used by the limit runs), whatever the provider. */
  stub: TwilioStub;
  /**
   * Stops the extra worker processes (`workers` > 1), adds what they contacted (null provider) to
   * `contacted`, and returns their peak RSS in MiB and how many contacts they handed over (null
   * provider only; over HTTP the stub counts everyone's). None with one process.
   */
  stopWorkers(): Promise<{ peakMb: number; contacts: number }[]>;
  /** POST /v1/warnings as the county's duty officer; returns the warning id. */
  issue(body: unknown): Promise<string>;
  close(): Promise<void>;
}

/** Migrates and seeds the fresh database, then boots the gateway on it. */
export async function startBenchGateway(
  b: BenchBackends,
  o: { people: number; provider: ProviderKind; workers?: number; env?: Record<string, string> },
  log: (msg: string) => void,
): Promise<BenchGateway> {
  const seedStart = Date.now();
  const migrator = new DataSource(buildDataSourceOptions(b.databaseUrl));
  await migrator.initialize();
  await runMigrations(migrator);
  await migrator.query(countySql(o.people));
  await migrator.destroy();
  log(`seeded a county of ${o.people} people (${((Date.now() - seedStart) / 1000).toFixed(1)} s)`);

  const stub = await startTwilioStub();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATABASE_URL: b.databaseUrl,
    QUEUE_PREFIX: b.queuePrefix,
    APP_SECRET: process.env.APP_SECRET ?? 'bench-app-secret-'.padEnd(40, 'b'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    PUBLIC_BASE_URL: baseUrl,
    PORT: String(port),
    TWO_PERSON_RELEASE: 'off',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_FROM_NUMBER: FROM_NUMBER,
    TWILIO_API_BASE_URL: stub.url,
    // Provider rate limits raised out of the way: the gateway itself is measured.
    TWILIO_SMS_PER_SECOND: '10000',
    TWILIO_CALLS_PER_SECOND: '1000',
    ...(o.env ?? {}),
  };
  // Restored on close: the next run (or the caller) finds the environment as it was.
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const restoreEnv = () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  Object.assign(process.env, env);
  const runtime: GatewayRuntime = {
    role: 'all',
    databaseUrl: b.databaseUrl,
    queue: { backend: 'redis', url: b.redisUrl },
    embedded: { postgres: false, redis: false },
  };
  let app: NestExpressApplication;
  try {
    app = await createHttpApp(AppModule.register(runtime));
  } catch (err) {
    restoreEnv();
    await stub.close();
    throw err;
  }
  const contacted =
    o.provider === 'null' ? installNullProvider(app.get<TwilioClient>(TWILIO_CLIENT)) : stub;
  await listenHttp(app, port, '127.0.0.1');
  const children = await forkWorkers((o.workers ?? 1) - 1, b, o.provider);
  let workerPeaks: Promise<{ peakMb: number; contacts: number }[]> | undefined;
  const stopWorkers = () =>
    (workerPeaks ??= Promise.all(
      children.map(async (child) => {
        const report = await child.stop();
        for (const [to, n] of report.sms)
          contacted.sent.sms.set(to, (contacted.sent.sms.get(to) ?? 0) + n);
        for (const [to, n] of report.voice)
          contacted.sent.voice.set(to, (contacted.sent.voice.get(to) ?? 0) + n);
        const contacts = [...report.sms, ...report.voice].reduce((sum, [, n]) => sum + n, 0);
        return { peakMb: report.peakMb, contacts };
      }),
    ));
  const tokens = app.get(TokensService);
  const { token } = await tokens.create({
    name: 'bench duty officer',
    role: 'duty_officer',
    jurisdiction: BENCH_COUNTY,
  });
  return {
    app,
    baseUrl,
    db: app.get(DataSource),
    token,
    provider: o.provider,
    contacted,
    stub,
    stopWorkers,
    issue: async (body) => {
      const res = await fetch(`${baseUrl}/v1/warnings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { id?: string };
      if (res.status !== 201 || !json.id)
        throw new Error(`issuing the warning: ${res.status} ${JSON.stringify(json)}`);
      return json.id;
    },
    close: async () => {
      try {
        await stopWorkers().catch(() => []);
        await app.close();
        await stub.close();
      } finally {
        restoreEnv();
      }
    },
  };
}

interface WorkerReport {
  peakMb: number;
  sms: [string, number][];
  voice: [string, number][];
}

/**
 * `n` more gateway worker processes (worker-process.ts), forked with this process's environment
 * (which startBenchGateway has set) and its loader (tsx), each ready before this returns.
 */
async function forkWorkers(n: number, b: BenchBackends, provider: ProviderKind) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const child = fork(path.join(__dirname, 'worker-process.ts'), [], {
        env: {
          ...process.env,
          BENCH_WORKER_REDIS_URL: b.redisUrl,
          BENCH_WORKER_PROVIDER: provider,
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`worker process exited (${code})`)));
        child.on('message', (m: { type?: string }) => {
          if (m?.type === 'ready') resolve();
        });
      });
      child.removeAllListeners('exit');
      return {
        stop: () =>
          new Promise<WorkerReport>((resolve, reject) => {
            child.on('message', (m: WorkerReport & { type?: string }) => {
              if (m?.type === 'report') resolve(m);
            });
            child.once('exit', (code) => reject(new Error(`worker process exited (${code})`)));
            child.send({ type: 'stop' });
          }),
      };
    }),
  );
}

/**
 * Peak resident set size of this process and of Redis, sampled every `everyMs`; with this
 * process's RSS when sampling started (the gateway booted, before the warning: what the code,
 * the loader and the pools take) and its JS heap at the peak.
 */
export function sampleMemory(redisUrl: string, everyMs = 250) {
  const startMb = process.memoryUsage().rss / 2 ** 20;
  const peak = { nodeMb: 0, heapMb: 0, redisMb: 0 };
  const redis = new IORedis(redisUrl, { maxRetriesPerRequest: 1 });
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const m = process.memoryUsage();
      if (m.rss / 2 ** 20 > peak.nodeMb) {
        peak.nodeMb = m.rss / 2 ** 20;
        peak.heapMb = m.heapUsed / 2 ** 20;
      }
      const info = await redis.info('memory').catch(() => '');
      const rss = Number(/used_memory_rss:(\d+)/.exec(info)?.[1] ?? 0);
      peak.redisMb = Math.max(peak.redisMb, rss / 2 ** 20);
      await sleep(everyMs);
    }
  })();
  return {
    peak,
    stop: async () => {
      stop = true;
      await loop;
      await redis.quit();
      return {
        nodeMb: Math.round(peak.nodeMb),
        nodeStartMb: Math.round(startMb),
        nodeHeapAtPeakMb: Math.round(peak.heapMb),
        redisMb: Math.round(peak.redisMb),
      };
    },
  };
}

/** Writes `<name>-<timestamp>.json` and `.md` into `dir`. */
/** The bench's own queries on a pool of their own: none of the gateway's connections taken. */
export async function openObserver(databaseUrl: string): Promise<DataSource> {
  const observer = new DataSource({
    ...buildDataSourceOptions(databaseUrl),
    extra: { max: 2, application_name: 'bench-observer' },
  } as ReturnType<typeof buildDataSourceOptions>);
  await observer.initialize();
  return observer;
}

/** Logs a report's Markdown (without its title) and writes it with its JSON under `dir`. */
export function publishResults(
  name: string,
  result: { at: string },
  markdown: string[],
  dir: string,
  log: (msg: string) => void,
): { json: string; markdown: string } {
  log('');
  for (const line of markdown.slice(2)) log(line);
  const files = writeResults(name, result.at, result, markdown, dir);
  log(`results: ${files.json}, ${files.markdown}`);
  return files;
}

export function writeResults(
  name: string,
  at: string,
  json: unknown,
  markdown: string[],
  dir: string,
): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = at.replace(/[:.]/g, '-');
  const files = {
    json: path.join(dir, `${name}-${stamp}.json`),
    markdown: path.join(dir, `${name}-${stamp}.md`),
  };
  writeFileSync(files.json, `${JSON.stringify({ ...(json as object), files }, null, 2)}\n`);
  writeFileSync(files.markdown, `${markdown.join('\n')}\n`);
  return files;
}

export const fmt = (n: number, d = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d }) : '–';
