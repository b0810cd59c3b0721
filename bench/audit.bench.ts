/**
 * Audit appends under concurrency (issue 10): N writers, each in its own transactions appending
 * small batches of events (as the fan-out, answers and callbacks do), for three designs on the
 * same server:
 *
 * - `before`: the old design, reproduced here: one global advisory lock per appending
 *   transaction, the previous event's hash read, chained hashes, a UNIQUE hash column; the lock
 *   held until commit.
 * - `sealed`: AuditService.append as the gateway runs it now (no lock, a content hash per event)
 *   on the real audit_events table, with the sealer running every 2 s beside it.
 * - `bare`: the same INSERT into a table with no hash and no lock: the limit.
 *
 * Speed is measured here only, never asserted in a test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import * as path from 'node:path';
import { DataSource, type EntityManager } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '../src/database/data-source';
import { GENESIS_HASH, legacyEventHash, plainData } from '../src/modules/audit/audit.hash';
import { type AuditEventInput, AuditService } from '../src/modules/audit/audit.service';
import { openBenchDatabase } from './bench-db';

export interface AuditBenchOptions {
  /** Concurrent writers, each on its own connection (default 20). */
  writers: number;
  /** Events per appending transaction (default 5). */
  batch: number;
  /** Seconds per design, after a warm-up (default 10). */
  seconds: number;
  /** Other work inside each transaction before the append, stood in for by waiting (ms). */
  workMs: number;
  /** Where the JSON and Markdown reports go (default bench/results). */
  resultsDir?: string;
  /** Database name (default audit_bench). */
  database?: string;
  log: (msg: string) => void;
}

export interface AuditBenchRow {
  design: 'before' | 'sealed' | 'bare';
  transactions: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  transactionsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Share of the writers' sessions found waiting on a lock when sampled. */
  lockWaitShare: number;
  /** Events per second against the bare limit. */
  ratio: number;
}

export interface AuditBenchResult {
  at: string;
  options: Omit<AuditBenchOptions, 'log' | 'resultsDir' | 'database'>;
  machine: { cores: number; cpu: string; memoryGb: number; loadavg: number[] };
  versions: { node: string; postgres: string };
  where: string;
  rows: AuditBenchRow[];
  seal: { events: number; ms: number; eventsPerSecond: number; verifyMs: number; ok: boolean };
  files?: { json: string; markdown: string };
}

const LOCK_KEY = 7_263_299;

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The old AuditService.appendIn, on a copy of the old table. */
async function appendBefore(m: EntityManager, events: AuditEventInput[]): Promise<void> {
  await m.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
  const [last] = await m.query(
    `SELECT hash FROM audit_bench_before ORDER BY audit_bench_before.id DESC LIMIT 1`,
  );
  let prev: string = last?.hash ?? GENESIS_HASH;
  const at = new Date();
  const rows = events.map((e) => {
    const data = plainData(e.data);
    const hash = legacyEventHash(prev, { ...e, at, warningId: e.warningId ?? null, data });
    const row = [e.actor, e.action, e.subjectType, e.subjectId, JSON.stringify(data), prev, hash];
    prev = hash;
    return row;
  });
  const col = (i: number) => rows.map((r) => r[i]);
  await m.query(
    `INSERT INTO audit_bench_before (at, actor, action, subject_type, subject_id, data, prev_hash, hash)
     SELECT $1::timestamptz, t.a, t.b, t.c, t.d, t.e::jsonb, t.f, t.g
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
            WITH ORDINALITY AS t(a, b, c, d, e, f, g, ord)
      ORDER BY t.ord`,
    [at.toISOString(), col(0), col(1), col(2), col(3), col(4), col(5), col(6)],
  );
}

/** The same INSERT with no hash and no lock. */
async function appendBare(m: EntityManager, events: AuditEventInput[]): Promise<void> {
  const at = new Date();
  await m.query(
    `INSERT INTO audit_bench_bare (at, actor, action, subject_type, subject_id, data)
     SELECT $1::timestamptz, t.a, t.b, t.c, t.d, t.e::jsonb
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
            WITH ORDINALITY AS t(a, b, c, d, e, ord)
      ORDER BY t.ord`,
    [
      at.toISOString(),
      events.map((e) => e.actor),
      events.map((e) => e.action),
      events.map((e) => e.subjectType),
      events.map((e) => e.subjectId),
      events.map((e) => JSON.stringify(plainData(e.data))),
    ],
  );
}

async function prepareTables(ds: DataSource): Promise<void> {
  await ds.query(`
    CREATE TABLE IF NOT EXISTS audit_bench_before (
      id bigserial PRIMARY KEY, at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL,
      subject_type text NOT NULL, subject_id text NOT NULL, warning_id uuid,
      data jsonb NOT NULL DEFAULT '{}', prev_hash char(64) NOT NULL, hash char(64) NOT NULL UNIQUE)`);
  await ds.query(`
    CREATE TABLE IF NOT EXISTS audit_bench_bare (
      id bigserial PRIMARY KEY, at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL,
      subject_type text NOT NULL, subject_id text NOT NULL, warning_id uuid,
      data jsonb NOT NULL DEFAULT '{}')`);
  // Each design starts from an empty table (the real audit log included: a bench database only).
  await ds.query(`TRUNCATE audit_bench_before, audit_bench_bare`);
  await ds.query(`ALTER TABLE audit_events DISABLE TRIGGER USER`);
  await ds.query(`ALTER TABLE audit_blocks DISABLE TRIGGER USER`);
  await ds.query(`ALTER TABLE audit_checkpoints DISABLE TRIGGER USER`);
  await ds.query(`TRUNCATE audit_events, audit_blocks, audit_checkpoints RESTART IDENTITY`);
  await ds.query(`ALTER TABLE audit_events ENABLE TRIGGER USER`);
  await ds.query(`ALTER TABLE audit_blocks ENABLE TRIGGER USER`);
  await ds.query(`ALTER TABLE audit_checkpoints ENABLE TRIGGER USER`);
  await ds.query(`VACUUM ANALYZE audit_bench_before, audit_bench_bare, audit_events`);
}

/** Small events like the fan-out's attempt.created. */
function batchOf(writer: number, n: number, k: number): AuditEventInput[] {
  return Array.from({ length: n }, (_, i) => ({
    actor: 'system',
    action: 'attempt.created',
    subjectType: 'attempt',
    subjectId: `${writer}-${k}-${i}`,
    data: { deliveryId: `${writer}-${k}`, channel: 'sms', seq: i },
  }));
}

async function runDesign(
  ds: DataSource,
  design: AuditBenchRow['design'],
  append: (m: EntityManager, events: AuditEventInput[]) => Promise<void>,
  o: AuditBenchOptions,
): Promise<Omit<AuditBenchRow, 'ratio'>> {
  const warmupMs = Math.min(1000, o.seconds * 200);
  const start = Date.now() + warmupMs;
  const end = start + o.seconds * 1000;
  const latencies: number[] = [];
  let transactions = 0;
  let waiting = 0;
  let sampled = 0;
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      await sleep(50);
      if (Date.now() < start || stop) continue;
      const [s] = await ds.query(
        `SELECT count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS waiting,
                count(*)::int AS active
           FROM pg_stat_activity
          WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()
            AND application_name = 'audit-bench'`,
      );
      waiting += s.waiting;
      sampled += s.active;
    }
  })();
  await Promise.all(
    Array.from({ length: o.writers }, async (_, w) => {
      for (let k = 0; Date.now() < end; k++) {
        const t0 = performance.now();
        await ds.transaction(async (m) => {
          if (o.workMs > 0) await sleep(o.workMs);
          await append(m, batchOf(w, o.batch, k));
        });
        const now = Date.now();
        if (now >= start && now < end) {
          latencies.push(performance.now() - t0);
          transactions++;
        }
      }
    }),
  );
  stop = true;
  await sampler;
  latencies.sort((a, b) => a - b);
  return {
    design,
    transactions,
    events: transactions * o.batch,
    seconds: o.seconds,
    eventsPerSecond: (transactions * o.batch) / o.seconds,
    transactionsPerSecond: transactions / o.seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    lockWaitShare: sampled ? waiting / sampled : 0,
  };
}

export async function runAuditBench(o: AuditBenchOptions): Promise<AuditBenchResult> {
  const { log } = o;
  const db = await openBenchDatabase(o.database ?? 'audit_bench', log);
  const base = buildDataSourceOptions(db.url);
  const ds = new DataSource({
    ...base,
    extra: { max: o.writers + 4, application_name: 'audit-bench' },
  } as typeof base);
  try {
    await ds.initialize();
    await runMigrations(ds);
    await prepareTables(ds);
    process.env.APP_SECRET ??= 'audit-bench-secret'.padEnd(40, 'b');
    const audit = new AuditService(ds);
    const [{ server_version: postgres }] = await ds.query(`SHOW server_version`);
    log(
      `audit: ${o.writers} writers × ${o.batch} events per transaction, ${o.seconds} s per design` +
        (o.workMs ? `, ${o.workMs} ms of other work per transaction` : '') +
        ` (${db.where})`,
    );

    const rows: Omit<AuditBenchRow, 'ratio'>[] = [];
    log('before: global advisory lock + read previous hash + chained hashes …');
    rows.push(await runDesign(ds, 'before', appendBefore, o));
    log('sealed: AuditService.append, sealer every 2 s …');
    let sealing = true;
    const sealer = (async () => {
      while (sealing) {
        await sleep(2000);
        if (sealing) await audit.seal();
      }
    })();
    rows.push(await runDesign(ds, 'sealed', (m, e) => audit.append(e, m), o));
    sealing = false;
    await sealer;
    log('bare: the same INSERT, no hash, no lock …');
    rows.push(await runDesign(ds, 'bare', appendBare, o));

    // Sealing what the run left, then a full verify.
    const [{ n: unsealed }] = await ds.query(
      `SELECT count(*)::int AS n FROM audit_events
        WHERE id > (SELECT coalesce(max(last_id), 0) FROM audit_blocks)`,
    );
    const t0 = performance.now();
    for (;;) {
      const r = await audit.seal({ waitMs: 5000 });
      if (!r.blocks) break;
    }
    const sealMs = performance.now() - t0;
    const t1 = performance.now();
    const verified = await audit.verify({ seal: false });
    const verifyMs = performance.now() - t1;

    const bare = rows.find((r) => r.design === 'bare')!.eventsPerSecond || 1;
    const result: AuditBenchResult = {
      at: new Date().toISOString(),
      options: { writers: o.writers, batch: o.batch, seconds: o.seconds, workMs: o.workMs },
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      },
      versions: { node: process.version, postgres },
      where: db.where.replace(/\/\/[^@]*@/, '//'),
      rows: rows.map((r) => ({ ...r, ratio: r.eventsPerSecond / bare })),
      seal: {
        events: unsealed,
        ms: sealMs,
        eventsPerSecond: sealMs ? (unsealed / sealMs) * 1000 : 0,
        verifyMs,
        ok: verified.ok,
      },
    };
    log('');
    for (const line of markdownTable(result)) log(line);
    log(
      `seal after the run: ${unsealed} events in ${sealMs.toFixed(0)} ms; ` +
        `verify of ${verified.checked} events: ${verifyMs.toFixed(0)} ms, ok=${verified.ok}`,
    );
    result.files = writeResults(result, o.resultsDir ?? path.resolve(__dirname, 'results'));
    log(`results: ${result.files.json}, ${result.files.markdown}`);
    return result;
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await db.stop();
  }
}

function markdownTable(r: AuditBenchResult): string[] {
  const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d });
  return [
    '| design | events/s | transactions/s | p50 ms | p99 ms | sessions waiting on a lock | vs bare |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.rows.map(
      (x) =>
        `| ${x.design} | ${fmt(x.eventsPerSecond)} | ${fmt(x.transactionsPerSecond)} | ${fmt(x.p50Ms, 1)} | ${fmt(x.p99Ms, 1)} | ${fmt(x.lockWaitShare * 100)} % | ${fmt(x.ratio * 100)} % |`,
    ),
  ];
}

function writeResults(r: AuditBenchResult, dir: string): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = r.at.replace(/[:.]/g, '-');
  const json = path.join(dir, `audit-${stamp}.json`);
  const markdown = path.join(dir, `audit-${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(
    markdown,
    [
      `# Audit appends: ${r.options.writers} writers × ${r.options.batch} events per transaction`,
      '',
      `${r.at}; ${r.options.seconds} s per design${r.options.workMs ? `, ${r.options.workMs} ms of other work per transaction` : ''}.`,
      `Machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGb} GB, load ${r.machine.loadavg.join(' ')}.`,
      `Node ${r.versions.node}, PostgreSQL ${r.versions.postgres}; ${r.where}.`,
      '',
      ...markdownTable(r),
      '',
      `Sealing what the run left: ${r.seal.events} events in ${r.seal.ms.toFixed(0)} ms; verify ${r.seal.verifyMs.toFixed(0)} ms (ok: ${r.seal.ok}).`,
      '',
    ].join('\n'),
  );
  return { json, markdown };
}
