/**
 * 叫应 step timers due together (issue 10): every person of a county-wide warning reaches the end
 * of the same step at once. Two runs on the same Postgres and Redis, one after the other:
 *
 * - `grouped`: the gateway's code as it runs (EscalationService, DispatchQueue and the escalation
 *   worker's job function, at the escalation concurrency): N deliveries at step 1 of a two-step policy, all due at one
 *   instant, their timers scheduled by DispatchQueue.scheduleStepTimers (one job per due second).
 *   Lateness per delivery is from its due instant to the statement that advanced it
 *   (`step_started_at`); the follow-up (the next step's SMS written and enqueued, the next timers)
 *   is reported by when the last of it was written. Afterwards each delivery must be at step 2
 *   with exactly one step-2 SMS: none fired twice.
 * - `limit`: as many no-op BullMQ delayed jobs, one per person, due at the same instant, consumed
 *   at the same concurrency: lateness from the due instant to each handler starting. This is what
 *   a job per timer costs before any work is done.
 *
 * The ratio is the limit's lateness over the grouped design's (above 1: the grouped timers fire
 * sooner than bare per-person jobs could even start). Speed is measured here only, never asserted
 * in a test. No send worker runs: nothing is sent.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import * as path from 'node:path';
import { ConfigService } from '@nestjs/config';
import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { ALL_QUEUES, type EscalationJob, type QueueName } from '../src/common/queue/queue-names';
import { AuditService } from '../src/modules/audit/audit.service';
import { NumberLimits } from '../src/modules/dispatch/number-limits';
import { SendMoves } from '../src/modules/chain/send-moves.repository';
import { EntryMoves } from '../src/modules/chain/entry-moves.repository';
import { StepMoves } from '../src/modules/chain/step-moves.repository';
import { AnswerListeners } from '../src/modules/chain/answer-listener';
import { DispatchRepository } from '../src/modules/dispatch/dispatch.repository';
import { runEscalationJob } from '../src/modules/dispatch/dispatch.workers';
import { EscalationService } from '../src/modules/dispatch/escalation.service';
import { PoliciesRepository } from '../src/modules/escalation/policies.repository';
import { buildDataSourceOptions, runMigrations } from '../src/database/data-source';
import { DispatchQueue } from '../src/common/queue/dispatch-queue.service';
import { redisOptionsFromUrl } from '../src/runtime/queue-backend';
import { startLocalRedis } from '../src/runtime/local-redis';
import { openBenchDatabase } from './bench-db';

export interface TimersBenchOptions {
  /** Timers due at the same instant (default 20000). */
  timers: number;
  /** Escalation jobs run at once, by the gateway's worker and by the limit's (default 10). */
  concurrency: number;
  /** Due times spread over this window instead of one instant (ms, default 0). */
  spreadMs: number;
  /** The due instant this far ahead, chosen before the warning is written (ms; 4000 + timers / 20). */
  leadMs?: number;
  /** The limit's handler work, stood in for by waiting (ms, default 0: no-op jobs). */
  workMs: number;
  /** Where the JSON and Markdown reports go (default bench/results). */
  resultsDir?: string;
  /** Database name (default timers_bench). */
  database?: string;
  log: (msg: string) => void;
}

interface Lateness {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Share handled less than 1 s after being due. */
  underOneSecond: number;
}

export interface TimersBenchResult {
  at: string;
  options: Omit<TimersBenchOptions, 'log' | 'resultsDir' | 'database'>;
  machine: { cores: number; cpu: string; memoryGb: number; loadavg: number[] };
  versions: { node: string; postgres: string; redis: string };
  where: string;
  grouped: {
    lateness: Lateness;
    /** Timer jobs the N deliveries were scheduled as. */
    jobs: number;
    /** The last next-step SMS written, from the due instant (ms). */
    followUpsWrittenMs: number;
    /** Every delivery's follow-up marked done, from the due instant (ms, polled every 200 ms). */
    allDoneMs: number;
    /** Deliveries not at step 2 with exactly one step-2 SMS afterwards (must be 0). */
    wrong: number;
  };
  limit: { lateness: Lateness; jobs: number };
  /** limit / grouped, per measure (above 1: the grouped design fires sooner). */
  ratio: { p50: number; p99: number; max: number };
  files?: { json: string; markdown: string };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function summarize(values: number[]): Lateness {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
    underOneSecond: sorted.length ? sorted.filter((x) => x < 1000).length / sorted.length : 0,
  };
}

const DIVISIONS = `
  INSERT INTO divisions (code, name, level, parent_code) VALUES
    ('51', '四川省', 'province', NULL), ('5132', '阿坝州', 'city', '51'),
    ('513221', '汶川县', 'county', '5132'), ('513221001', '映秀镇', 'township', '513221'),
    ('513221001001', '渔子溪村', 'village', '513221001')
  ON CONFLICT DO NOTHING;
  INSERT INTO grids (code, name, village_code) VALUES ('513221001001001', '渔子溪村第1网格', '513221001001')
  ON CONFLICT DO NOTHING;`;

/** N people with a mobile each (kept across runs). */
async function seedPeople(ds: DataSource, n: number, log: (m: string) => void) {
  await ds.query(DIVISIONS);
  const [{ have }] = await ds.query(
    `SELECT count(*)::int AS have FROM people WHERE external_id LIKE 'TB-%'`,
  );
  if (have < n) {
    log(`seeding ${n - have} people…`);
    await ds.query(
      `INSERT INTO people (external_id, name, role, division_code, grid_code)
       SELECT 'TB-' || i, '监测员' || i, 'group_monitor', '513221001001', '513221001001001'
         FROM generate_series($1::int + 1, $2::int) i`,
      [have, n],
    );
    await ds.query(
      `INSERT INTO contact_points (person_id, kind, value, priority)
       SELECT p.id, 'mobile', '+86139' || lpad(substr(p.external_id, 4), 8, '0'), 1 FROM people p
        WHERE p.external_id LIKE 'TB-%' AND NOT EXISTS (SELECT 1 FROM contact_points c WHERE c.person_id = p.id)`,
    );
  }
}

/** A fresh warning with the chains of N people at step 1, due at `dueAt`. */
async function seedWarning(ds: DataSource, n: number, dueAt: Date[]) {
  // Earlier runs' warnings end, so that nothing of them is due any more.
  await ds.query(
    `UPDATE warnings SET state = 'expired', expired_at = now() WHERE state = 'active'`,
  );
  const [policy] = await ds.query(
    `INSERT INTO escalation_policies (name, roles, rank, steps, on_exhausted, group_rule_seconds)
     VALUES ('bench-timers', '{group_monitor}', 1,
             '[{"channels": ["sms"], "waitSeconds": 300}, {"channels": ["sms"], "waitSeconds": 3600}]',
             '{"notWoken": true, "supervisor": false, "doorToDoor": false}', NULL)
     ON CONFLICT (name) DO UPDATE SET steps = EXCLUDED.steps RETURNING id`,
  );
  const [w] = await ds.query(
    `INSERT INTO warnings (kind, status, issuer_name, issuer_division, expires_at, fanout_done_at)
     VALUES ('meteorological_risk', 'exercise', 'bench', '513221', now() + interval '1 day', now()) RETURNING id`,
  );
  const nationalId = `51322141600000${Date.now()}`.padEnd(31, '0').slice(0, 31);
  await ds.query(
    `INSERT INTO warning_versions (warning_id, version, national_id, msg_type, level, audience, areas, content, sent_at)
     VALUES ($1, 1, $2, 'alert', 'orange', '{group_monitor}', '{513221001001}', $3, now())`,
    [
      w.id,
      nationalId,
      JSON.stringify({ kind: 'meteorological_risk', status: 'exercise', headline: 'bench' }),
    ],
  );
  await ds.query(
    `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code,
                             policy_id, step, step_done, step_started_at, step_due_at)
     SELECT $1, p.id, 1, 'alert', p.role, p.division_code, p.grid_code, $2, 1, 1,
            x.due - interval '300 seconds', x.due
       FROM (SELECT id, role, division_code, grid_code, row_number() OVER (ORDER BY id) AS k
               FROM people WHERE external_id LIKE 'TB-%' LIMIT $3) p
       JOIN unnest($4::timestamptz[]) WITH ORDINALITY AS x(due, k) ON x.k = p.k`,
    [w.id, policy.id, n, dueAt],
  );
  await ds.query(`ANALYZE deliveries`);
  return { warningId: w.id as string };
}

/**
 * The gateway's escalation path, wired by hand (the bench runs under tsx, which emits no decorator
 * metadata for Nest's injector): the real EscalationService, DispatchQueue and repositories on
 * this database and Redis, and a worker running the gateway's own escalation job function.
 * Attempt jobs are added to send queues that nothing consumes.
 */
function gatewayParts(ds: DataSource, connection: ConnectionOptions, prefix: string) {
  const config = {
    get: (key: string) => process.env[key],
  } as unknown as ConfigService;
  const queues = Object.fromEntries(
    ALL_QUEUES.map((name) => [name, new Queue(name, { connection, prefix })]),
  ) as Record<QueueName, Queue>;
  const audit = new AuditService(ds);
  const repo = new DispatchRepository(ds);
  const dispatch = new DispatchQueue(
    queues.fanout,
    queues.lifecycle,
    queues.escalation,
    queues['send-sms'],
    queues['send-sms-batch'],
    queues['send-voice'],
    queues['send-email'],
    queues['send-robot'],
    queues['send-broadcast'],
    config,
  );
  // Tasks, warnings and notices serve escalations to other people: not on this path.
  const unused = undefined as never;
  const escalation = new EscalationService(
    ds,
    new PoliciesRepository(ds, audit),
    repo,
    new EntryMoves(ds, audit),
    new SendMoves(ds, audit),
    new StepMoves(ds, audit),
    dispatch,
    unused,
    unused,
    audit,
    unused,
    // Carrier limits per number as configured (off unless CARRIER_LIMITS_* are set).
    new NumberLimits(ds, config),
    new AnswerListeners(),
    config,
  );
  return { queues, dispatch, escalation };
}

/** The grouped design: the gateway's step timers and escalation job function. */
async function runGrouped(
  o: TimersBenchOptions,
  redisUrl: string,
  ds: DataSource,
): Promise<TimersBenchResult['grouped']> {
  // The people first (the first run on a database creates them, which takes longer than the
  // lead time on a loaded machine): the due instant is set after.
  await seedPeople(ds, o.timers, o.log);
  const lead = o.leadMs || 4000 + Math.ceil(o.timers / 20);
  const start = Date.now() + lead;
  const dueAt = Array.from(
    { length: o.timers },
    (_, i) => new Date(start + (o.spreadMs ? Math.floor((i / o.timers) * o.spreadMs) : 0)),
  );
  const { warningId } = await seedWarning(ds, o.timers, dueAt);
  const connection = redisOptionsFromUrl(redisUrl);
  const prefix = `{bench-${randomBytes(3).toString('hex')}}`;
  const { queues, dispatch, escalation } = gatewayParts(ds, connection, prefix);
  const worker = new Worker<EscalationJob>(
    'escalation',
    (job, token) => runEscalationJob(escalation, job, token),
    { connection, prefix, concurrency: o.concurrency },
  );
  // A timer run that fails is retried with backoff: that shows as lateness, and here as why.
  worker.on('failed', (job, err) =>
    o.log(`timer job ${job?.id} failed (try ${job?.attemptsMade}): ${err.message}`),
  );
  try {
    await worker.waitUntilReady();
    const remaining = start - Date.now();
    if (remaining < 500) o.log(`warning: seeding ate the lead time (${remaining} ms left)`);
    await dispatch.scheduleStepTimers(
      dueAt.map((d) => ({ warningId, version: 1, step: 1, dueAt: d })),
    );
    const jobs = await queues.escalation.getJobCountByTypes('delayed', 'waiting', 'active');
    o.log(`grouped: ${o.timers} deliveries due, ${jobs} timer job(s); waiting…`);
    let allDoneMs = 0;
    for (;;) {
      const [{ left }] = await ds.query(
        `SELECT count(*)::int AS left FROM deliveries WHERE warning_id = $1 AND step_done < 2`,
        [warningId],
      );
      if (!left) {
        allDoneMs = Date.now() - (start + o.spreadMs);
        break;
      }
      // Lateness is read from step_started_at: how often this counts only sets when "every
      // follow-up done" is seen. Counting every 20 ms competed with the timers it measures.
      await sleep(200);
    }
    // Each delivery's due instant, by the seed's order (person id).
    const rows = await ds.query<{ ms: number }[]>(
      `SELECT extract(epoch FROM d.step_started_at - x.due) * 1000 AS ms
         FROM (SELECT d.*, row_number() OVER (ORDER BY d.person_id) AS k FROM deliveries d WHERE d.warning_id = $1) d
         JOIN unnest($2::timestamptz[]) WITH ORDINALITY AS x(due, k) ON x.k = d.k`,
      [warningId, dueAt],
    );
    const [{ written }] = await ds.query(
      `SELECT extract(epoch FROM max(a.queued_at) - $2::timestamptz) * 1000 AS written
         FROM contact_attempts a WHERE a.warning_id = $1`,
      [warningId, new Date(start + o.spreadMs)],
    );
    // Fired twice (two step-2 SMS), or not at all (still at step 1, no step-2 SMS).
    const [{ wrong }] = await ds.query(
      `SELECT count(*)::int AS wrong FROM deliveries d
        WHERE d.warning_id = $1
          AND (d.step <> 2 OR (SELECT count(*) FROM contact_attempts a WHERE a.delivery_id = d.id) <> 1)`,
      [warningId],
    );
    return {
      lateness: summarize(rows.map((r) => Number(r.ms))),
      jobs,
      followUpsWrittenMs: Number(written),
      allDoneMs,
      wrong,
    };
  } finally {
    await worker.close();
    for (const q of Object.values(queues)) {
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
  }
}

/** The same number of no-op delayed jobs, one per person, due at the same instant. */
async function runLimit(
  o: TimersBenchOptions,
  redisUrl: string,
): Promise<TimersBenchResult['limit']> {
  const connection = redisOptionsFromUrl(redisUrl);
  const prefix = `{bench-${randomBytes(3).toString('hex')}}`;
  const name = 'escalation';
  const queue = new Queue(name, { connection, prefix });
  const lateness: number[] = [];
  let finished: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const handler = async (job: Job<{ dueAt: number }>) => {
    lateness.push(Date.now() - job.data.dueAt);
    if (o.workMs > 0) await sleep(o.workMs);
    if (lateness.length === o.timers) finished();
  };
  const worker = new Worker(name, handler, {
    connection,
    prefix,
    concurrency: o.concurrency,
    removeOnComplete: { count: 0 },
  });
  try {
    await worker.waitUntilReady();
    const start = Date.now() + 3000 + Math.ceil(o.timers / 5);
    for (let i = 0; i < o.timers; i += 1000) {
      const now = Date.now();
      await queue.addBulk(
        Array.from({ length: Math.min(1000, o.timers - i) }, (_, k) => {
          const n = i + k;
          const dueAt = start + (o.spreadMs ? Math.floor((n / o.timers) * o.spreadMs) : 0);
          return {
            name: 'step',
            data: { dueAt },
            opts: {
              jobId: `step-bench-${n}-v1-s1`,
              delay: dueAt - now,
              attempts: 10,
              backoff: { type: 'exponential', delay: 1000 },
              removeOnComplete: true,
            },
          };
        }),
      );
    }
    if (Date.now() > start) o.log(`warning: adding took longer than the lead time`);
    o.log(`limit: ${o.timers} no-op delayed jobs due; waiting…`);
    await allDone;
    return { lateness: summarize(lateness), jobs: o.timers };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

export async function runTimersBench(o: TimersBenchOptions): Promise<TimersBenchResult> {
  let redisUrl = process.env.REDIS_URL;
  let stopRedis = async () => undefined as void;
  if (!redisUrl) {
    const redis = await startLocalRedis({
      dataDir: path.resolve('.data/bench'),
      port: Number(process.env.BENCH_REDIS_PORT ?? 54340),
      log: o.log,
      persistent: false,
    });
    if (!redis)
      throw new Error('no REDIS_URL and no redis-server on PATH (apt-get install redis-server)');
    redisUrl = redis.url;
    stopRedis = () => redis.stop();
  }
  const db = await openBenchDatabase(o.database ?? 'timers_bench', o.log);
  const ds = new DataSource(buildDataSourceOptions(db.url));
  try {
    await ds.initialize();
    await runMigrations(ds);
    const [{ server_version: postgres }] = await ds.query(`SHOW server_version`);
    const probe = new Redis(redisUrl);
    const info = await probe.info('server');
    probe.disconnect();
    const redis = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    o.log(
      `timers: ${o.timers} due ${o.spreadMs ? `over ${o.spreadMs} ms` : 'at the same instant'}, ` +
        `escalation concurrency ${o.concurrency}`,
    );
    const limit = await runLimit(o, redisUrl);
    const grouped = await runGrouped(o, redisUrl, ds);
    const ratio = (a: number, b: number) => (b > 0 ? a / b : a > 0 ? Infinity : 1);
    const result: TimersBenchResult = {
      at: new Date().toISOString(),
      options: {
        timers: o.timers,
        concurrency: o.concurrency,
        spreadMs: o.spreadMs,
        leadMs: o.leadMs || 4000 + Math.ceil(o.timers / 20),
        workMs: o.workMs,
      },
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      },
      versions: { node: process.version, postgres, redis },
      where: db.where.replace(/\/\/[^@]*@/, '//'),
      grouped,
      limit,
      ratio: {
        p50: ratio(limit.lateness.p50, grouped.lateness.p50),
        p99: ratio(limit.lateness.p99, grouped.lateness.p99),
        max: ratio(limit.lateness.max, grouped.lateness.max),
      },
    };
    o.log('');
    for (const line of markdown(result)) o.log(line);
    result.files = writeResults(result, o.resultsDir ?? path.resolve(__dirname, 'results'));
    o.log(`results: ${result.files.json}, ${result.files.markdown}`);
    return result;
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await db.stop();
    await stopRedis();
  }
}

function markdown(r: TimersBenchResult): string[] {
  const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')}`;
  const x = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '∞');
  const row = (what: string, l: Lateness, jobs: number) =>
    `| ${what} | ${jobs.toLocaleString('en-US')} | ${ms(l.p50)} | ${ms(l.p90)} | ${ms(l.p99)} | ${ms(l.max)} | ${(l.underOneSecond * 100).toFixed(1)} % |`;
  return [
    '| design | jobs | p50 ms late | p90 | p99 | max | under 1 s |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('grouped timers (gateway, advanced in SQL)', r.grouped.lateness, r.grouped.jobs),
    row('limit: no-op delayed job per person', r.limit.lateness, r.limit.jobs),
    '',
    `ratio limit / grouped: p50 ${x(r.ratio.p50)}, p99 ${x(r.ratio.p99)}, max ${x(r.ratio.max)}`,
    `grouped follow-ups: last next-step SMS written ${ms(r.grouped.followUpsWrittenMs)} ms after due; ` +
      `every follow-up done ${ms(r.grouped.allDoneMs)} ms after due; fired twice or not at all: ${r.grouped.wrong}`,
  ];
}

function writeResults(r: TimersBenchResult, dir: string): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = r.at.replace(/[:.]/g, '-');
  const json = path.join(dir, `timers-${stamp}.json`);
  const md = path.join(dir, `timers-${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(
    md,
    [
      `# 叫应 step timers: ${r.options.timers.toLocaleString('en-US')} due ${r.options.spreadMs ? `over ${r.options.spreadMs} ms` : 'at the same instant'}`,
      '',
      `${r.at}; escalation concurrency ${r.options.concurrency}. Lateness: from the due instant to the delivery advanced (grouped) or the handler starting (limit).`,
      `Machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGb} GB, load ${r.machine.loadavg.join(' ')}.`,
      `Node ${r.versions.node}, PostgreSQL ${r.versions.postgres}, Redis ${r.versions.redis}; ${r.where}.`,
      '',
      ...markdown(r),
      '',
    ].join('\n'),
  );
  return { json, markdown: md };
}
