/**
 * Fan-out of a red warning to a synthetic county of N people through the real gateway (issue 10):
 * HTTP API, fan-out and send workers, real Postgres and Redis, provider rate limits raised out of
 * the way. Measured:
 *
 * - rows written: from the warning's creation to `fanout_done_at` (both Postgres clocks);
 * - first contacts handed over: from the warning's creation to the last `sent_at` of its attempts,
 *   once every attempt the fan-out wrote has left `queued`/`sending`.
 *
 * The same-run limit (after the gateway has stopped, on the same servers): COPY of the warning's
 * own delivery and attempt rows into copies of their tables, BullMQ addBulk of as many jobs, and
 * their processing at the gateway's concurrency, each job a no-op (null provider) or one
 * twilio-SDK request to the Twilio-like server that answers at once (http). Ratio = limit time /
 * gateway time (1 = as fast as the limit). Speed is measured here only, never asserted in a test.
 */
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/data-source';
import {
  type BenchBackends,
  type BenchGateway,
  countyRedWarning,
  fmt,
  machine,
  type Machine,
  openBackends,
  PEOPLE_PER_GRID,
  type ProviderKind,
  sampleMemory,
  sleep,
  startBenchGateway,
  publishResults,
  openObserver,
} from './gateway-harness';
import { startTwilioStub } from './twilio-stub';
import { copyRowsLimit, jobsLimit, type JobsLimit, type RowsLimit } from './limits';

export interface FanoutBenchOptions {
  /** People in the synthetic county (default 20000). */
  people: number;
  provider: ProviderKind;
  /** Give up waiting for the first contacts after this many seconds (default 900). */
  timeoutSeconds: number;
  /** The gateway's SMS and voice worker concurrency, used by the limit (default 10 and 5). */
  smsConcurrency: number;
  voiceConcurrency: number;
  /**
   * Sends the gateway's batch jobs of first SMS run at once per process (SEND_SMS_BATCH_CONCURRENCY
   * × the batch size): the limit's SMS jobs run at smsConcurrency plus these, the gateway's SMS
   * sends in flight at most.
   */
  smsBatchSends?: number;
  /** Report name: fanout (default) or scale (adds peak memory). */
  name?: 'fanout' | 'scale';
  /** Gateway processes: this one plus `workers - 1` worker processes (default 1). */
  workers?: number;
  /** Skip the same-run limit (scale at 1M). */
  noLimit?: boolean;
  resultsDir?: string;
  log: (msg: string) => void;
}

export interface FanoutRow {
  measure: string;
  gatewayMs: number | null;
  limitMs: number | null;
  /** limit / gateway: 1 is as fast as the limit; the issue's goal is ≥ 0.5. */
  ratio: number | null;
}

export interface FanoutBenchResult {
  at: string;
  scenario: 'fanout' | 'scale';
  options: {
    people: number;
    provider: ProviderKind;
    smsConcurrency: number;
    voiceConcurrency: number;
    smsBatchSends: number;
    timeoutSeconds: number;
    workers: number;
  };
  machine: Machine;
  versions: BenchBackends['versions'];
  where: string;
  warningId: string;
  recipients: number;
  attempts: { total: number; sms: number; voice: number; handed: number };
  gateway: {
    rowsMs: number | null;
    handedMs: number | null;
    timedOut: boolean;
    sendsPerSecond: number | null;
  };
  limit: (RowsLimit & { jobs: JobsLimit }) | null;
  rows: FanoutRow[];
  /** Who was contacted how often, from the provider's side. */
  contacted: {
    /** Contacts handed over by each extra worker process (null provider only). */
    byExtraWorkers: number[];
    smsPeople: number;
    smsTwice: number;
    voicePeople: number;
    voiceTwice: number;
    gridLeaders: number;
  };
  /** Sampled Postgres sessions of the gateway during the run: what they were doing. */
  profile: {
    samples: number;
    waits: { what: string; share: number }[];
    statements: { query: string; share: number }[];
    /**
     * Sessions waiting on a lock, by their statement and the statement of a session holding it
     * (`pg_blocking_pids`), as shares of the active-session samples.
     */
    blocked?: { query: string; blocker: string; share: number }[];
    /** pg_stat_statements of the run (when the server has it loaded): time per statement. */
    totals?: StatementTotal[];
  };
  /** Peak RSS: this process (HTTP and workers), Redis, and each extra worker process. */
  memory?: {
    nodePeakMb: number;
    /** RSS of the gateway process once booted, before the warning. */
    nodeStartMb?: number;
    /** Its JS heap (heapUsed) when its RSS peaked. */
    nodeHeapAtPeakMb?: number;
    redisPeakMb: number;
    workerPeaksMb: number[];
  };
  files?: { json: string; markdown: string };
}

export interface StatementTotal {
  query: string;
  calls: number;
  rows: number;
  totalMs: number;
  share: number;
}

/**
 * pg_stat_statements of this database, when the server loads it (the embedded bench server does):
 * reset now; the returned function gives the statements that took the most execution time since.
 */
export async function statementTotals(
  ds: DataSource,
): Promise<() => Promise<StatementTotal[] | undefined>> {
  const ok = await ds
    .query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
    .then(() => ds.query(`SELECT pg_stat_statements_reset()`))
    .then(
      () => true,
      () => false,
    );
  if (!ok) return async () => undefined;
  return async () => {
    const rows: { query: string; calls: string; rows: string; total: number }[] = await ds.query(
      `SELECT regexp_replace(left(query, 90), '\\s+', ' ', 'g') AS query, calls, rows,
              total_exec_time AS total
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = current_database() AND query NOT ILIKE '%pg_stat%'
        ORDER BY total_exec_time DESC`,
    );
    const all = rows.reduce((sum, r) => sum + Number(r.total), 0);
    return rows.slice(0, 10).map((r) => ({
      query: r.query,
      calls: Number(r.calls),
      rows: Number(r.rows),
      totalMs: Math.round(Number(r.total)),
      share: all ? Number(r.total) / all : 0,
    }));
  };
}

/**
 * Samples pg_stat_activity every 200 ms: wait events and statements of active sessions, and for
 * those waiting on a lock, the statement of a session holding it.
 */
export function sampleSessions(ds: DataSource) {
  const waits = new Map<string, number>();
  const statements = new Map<string, number>();
  const blocked = new Map<string, number>();
  let samples = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const rows: { wait: string; query: string; blocker: string | null }[] = await ds
        .query(
          `SELECT coalesce(a.wait_event_type || ':' || a.wait_event, 'CPU') AS wait,
                  regexp_replace(left(a.query, 70), '\\s+', ' ', 'g') AS query,
                  CASE WHEN a.wait_event_type = 'Lock' THEN
                    (SELECT coalesce(b.state, '?') || ': ' || regexp_replace(left(b.query, 70), '\\s+', ' ', 'g')
                       FROM pg_stat_activity b WHERE b.pid = (pg_blocking_pids(a.pid))[1]) END AS blocker
             FROM pg_stat_activity a
            WHERE a.datname = current_database() AND a.state = 'active'
              AND a.application_name IS DISTINCT FROM 'bench-observer'`,
        )
        .catch(() => []);
      for (const r of rows) {
        samples++;
        waits.set(r.wait, (waits.get(r.wait) ?? 0) + 1);
        statements.set(r.query, (statements.get(r.query) ?? 0) + 1);
        if (r.blocker) {
          const k = JSON.stringify([r.query, r.blocker]);
          blocked.set(k, (blocked.get(k) ?? 0) + 1);
        }
      }
      await sleep(200);
    }
  })();
  const top = (m: Map<string, number>, key: 'what' | 'query') =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, n]) => ({ [key]: k, share: samples ? n / samples : 0 }));
  return async () => {
    stop = true;
    await loop;
    return {
      samples,
      waits: top(waits, 'what') as { what: string; share: number }[],
      statements: top(statements, 'query') as { query: string; share: number }[],
      blocked: [...blocked.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([k, n]) => {
          const [query, blocker] = JSON.parse(k) as [string, string];
          return { query, blocker, share: samples ? n / samples : 0 };
        }),
    };
  };
}

interface Progress {
  done: boolean;
  recipients: number;
  rowsMs: number | null;
  handedMs: number | null;
  total: number;
  sms: number;
  voice: number;
  handed: number;
  /** Attempts still queued or sending (-1: some, not counted: `count: false`). */
  pending: number;
}

/**
 * Where the fan-out stands. With `cheap`, while attempts are pending only the cheap part is read (the warning's
 * row, and its attempts still queued or sending, found through the partial index on pending
 * attempts); the whole count (a scan of the warning's attempts, which took a quarter of Postgres's
 * statement time at 100k when it ran every second) only once nothing is pending any more. With
 * `count: false` as well, only whether anything is pending.
 */
export async function fanoutProgress(
  ds: DataSource,
  warningId: string,
  opts: { cheap?: boolean; count?: boolean } = {},
): Promise<Progress> {
  const [w] = await ds.query(
    `SELECT recipients, fanout_done_at IS NOT NULL AS done,
            extract(epoch FROM fanout_done_at - created_at) * 1000 AS rows_ms
       FROM warnings WHERE id = $1`,
    [warningId],
  );
  // Cheap and not counting: whether any attempt still waits (the first one found), not how many;
  // counting them read up to the whole backlog (at a million people 0.4 s a look, 11 % of
  // Postgres's statement time in the run).
  const [{ pending }] = await ds.query(
    opts.cheap && opts.count === false
      ? `SELECT CASE WHEN EXISTS (SELECT 1 FROM contact_attempts
                                   WHERE warning_id = $1 AND status IN ('queued', 'sending'))
                     THEN -1 ELSE 0 END AS pending`
      : `SELECT count(*)::int AS pending FROM contact_attempts
          WHERE warning_id = $1 AND status IN ('queued', 'sending')`,
    [warningId],
  );
  const base = {
    recipients: Number(w?.recipients ?? 0),
    rowsMs: w?.done ? Number(w.rows_ms) : null,
  };
  if (opts.cheap && (!w?.done || pending !== 0))
    return { ...base, done: false, handedMs: null, total: 0, sms: 0, voice: 0, handed: 0, pending };
  const [a] = await ds.query(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE channel = 'sms')::int AS sms,
            count(*) FILTER (WHERE channel = 'voice')::int AS voice,
            count(*) FILTER (WHERE status NOT IN ('queued', 'sending'))::int AS handed,
            extract(epoch FROM max(sent_at) - (SELECT created_at FROM warnings WHERE id = $1)) * 1000 AS handed_ms
       FROM contact_attempts WHERE warning_id = $1`,
    [warningId],
  );
  const done = !!w?.done && a.total > 0 && a.handed === a.total;
  return {
    ...base,
    done,
    handedMs: done ? Number(a.handed_ms) : null,
    total: a.total,
    sms: a.sms,
    voice: a.voice,
    handed: a.handed,
    pending: a.total - a.handed,
  };
}

/** Counts, from the provider's side, who got an SMS / a call and who got more than one. */
function contactedSummary(gw: BenchGateway, people: number) {
  const grids = Math.max(1, Math.ceil(people / PEOPLE_PER_GRID));
  const { sms, voice } = gw.contacted.sent;
  let smsTwice = 0;
  let voiceTwice = 0;
  for (const n of sms.values()) if (n > 1) smsTwice++;
  for (const n of voice.values()) if (n > 1) voiceTwice++;
  return { smsPeople: sms.size, smsTwice, voicePeople: voice.size, voiceTwice, gridLeaders: grids };
}

export async function runFanoutBench(o: FanoutBenchOptions): Promise<FanoutBenchResult> {
  const { log } = o;
  const scenario = o.name ?? 'fanout';
  const backends = await openBackends(`${scenario}_bench`, log);
  let gw: BenchGateway | undefined;
  let observer: DataSource | undefined;
  try {
    log(
      `${scenario}: a red warning to ${fmt(o.people)} people, provider ${o.provider} (${backends.where}; ` +
        `Postgres ${backends.versions.postgres}, Redis ${backends.versions.redis})`,
    );
    const workers = o.workers ?? 1;
    gw = await startBenchGateway(
      backends,
      {
        people: o.people,
        provider: o.provider,
        workers,
        // The gateway runs its send queues at the concurrency the limit is measured at.
        env: {
          SEND_SMS_CONCURRENCY: String(o.smsConcurrency),
          SEND_VOICE_CONCURRENCY: String(o.voiceConcurrency),
        },
      },
      log,
    );
    observer = await openObserver(backends.databaseUrl);
    const memory = scenario === 'scale' ? sampleMemory(backends.redisUrl) : undefined;
    const totals = await statementTotals(observer);
    const stopSessions = sampleSessions(observer);
    const warningId = await gw.issue(countyRedWarning());
    const deadline = Date.now() + o.timeoutSeconds * 1000;
    let p = await fanoutProgress(observer, warningId, { cheap: true });
    let lastLog = 0;
    while (!p.done && Date.now() < deadline) {
      // The times are read from Postgres's clock (created_at, fanout_done_at, max sent_at): how
      // often this looks only decides when the run stops. Its count scans the warning's attempts,
      // which cost the gateway 10 % of Postgres's statement time when it looked every 250 ms.
      await sleep(o.people > 50_000 ? 3000 : 1000);
      const logNow = Date.now() - lastLog > (o.people > 50_000 ? 30_000 : 10_000);
      p = await fanoutProgress(observer, warningId, { cheap: true, count: logNow });
      if (logNow) {
        lastLog = Date.now();
        log(
          `  rows ${p.rowsMs === null ? 'being written' : `written in ${fmt(p.rowsMs / 1000, 1)} s`}; ` +
            `${fmt(p.pending)} attempts waiting to be handed to the provider`,
        );
      }
    }
    // Timed out: the whole count once, for the report.
    if (!p.done) p = await fanoutProgress(observer, warningId);
    const profile = { ...(await stopSessions()), totals: await totals() };
    const mem = memory ? await memory.stop() : undefined;
    if (!p.done) log(`  timed out after ${o.timeoutSeconds} s: ${p.handed} of ${p.total} handed`);
    const extra = await gw.stopWorkers();
    const workerPeaksMb = extra.map((w) => w.peakMb);
    const contacted = {
      ...contactedSummary(gw, o.people),
      byExtraWorkers: extra.map((w) => w.contacts),
    };
    await observer.destroy();
    observer = undefined;
    await gw.close();
    gw = undefined;

    let limit: FanoutBenchResult['limit'] = null;
    if (!o.noLimit) {
      log('limit: COPY of the same rows, addBulk and processing of as many jobs …');
      const ds = new DataSource(buildDataSourceOptions(backends.databaseUrl));
      await ds.initialize();
      const stub = await startTwilioStub();
      try {
        const rows = await copyRowsLimit(ds, warningId);
        const jobs = await jobsLimit({
          redisUrl: backends.redisUrl,
          prefix: backends.queuePrefix,
          sms: p.sms,
          voice: p.voice,
          smsConcurrency: o.smsConcurrency + (o.smsBatchSends ?? 0),
          voiceConcurrency: o.voiceConcurrency,
          provider: o.provider,
          stubUrl: stub.url,
        });
        limit = { ...rows, jobs };
      } finally {
        await stub.close();
        await ds.destroy();
      }
    }

    const ratio = (lim: number | null | undefined, g: number | null) =>
      lim != null && g ? lim / g : null;
    const limitRows = limit ? limit.ms + limit.jobs.addBulkMs : null;
    const limitHanded = limit ? limitRows! + limit.jobs.processMs : null;
    const result: FanoutBenchResult = {
      at: new Date().toISOString(),
      scenario,
      options: {
        people: o.people,
        provider: o.provider,
        smsConcurrency: o.smsConcurrency,
        voiceConcurrency: o.voiceConcurrency,
        smsBatchSends: o.smsBatchSends ?? 0,
        timeoutSeconds: o.timeoutSeconds,
        workers,
      },
      machine: machine(),
      versions: backends.versions,
      where: backends.where,
      warningId,
      recipients: p.recipients,
      attempts: { total: p.total, sms: p.sms, voice: p.voice, handed: p.handed },
      gateway: {
        rowsMs: p.rowsMs,
        handedMs: p.handedMs,
        timedOut: !p.done,
        sendsPerSecond: p.handedMs ? (p.total / p.handedMs) * 1000 : null,
      },
      limit,
      rows: [
        {
          measure: 'rows of the warning written (fanout_done_at)',
          gatewayMs: p.rowsMs,
          limitMs: limitRows,
          ratio: ratio(limitRows, p.rowsMs),
        },
        {
          measure: 'every first contact handed to the provider',
          gatewayMs: p.handedMs,
          limitMs: limitHanded,
          ratio: ratio(limitHanded, p.handedMs),
        },
      ],
      contacted,
      profile,
      ...(mem
        ? {
            memory: {
              nodePeakMb: mem.nodeMb,
              nodeStartMb: mem.nodeStartMb,
              nodeHeapAtPeakMb: mem.nodeHeapAtPeakMb,
              redisPeakMb: mem.redisMb,
              workerPeaksMb,
            },
          }
        : {}),
    };
    result.files = publishResults(
      scenario,
      result,
      fanoutMarkdown(result),
      o.resultsDir ?? path.resolve(__dirname, 'results'),
      log,
    );
    return result;
  } finally {
    await observer?.destroy().catch(() => undefined);
    await gw?.close().catch(() => undefined);
    await backends.close();
  }
}

const secs = (ms: number | null) => (ms === null ? 'not reached' : `${fmt(ms / 1000, 2)} s`);

export function fanoutMarkdown(r: FanoutBenchResult): string[] {
  const l = r.limit;
  return [
    `# ${r.scenario === 'scale' ? 'Scale' : 'Fan-out'}: a red warning to ${fmt(r.options.people)} people, provider ${r.options.provider}`,
    '',
    `${r.at}. Machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGb} GB, load ${r.machine.loadavg.join(' ')}.`,
    `Node ${r.versions.node}, PostgreSQL ${r.versions.postgres}, Redis ${r.versions.redis}; ${r.where}.`,
    `Recipients ${fmt(r.recipients)}; attempts ${fmt(r.attempts.total)} (${fmt(r.attempts.sms)} SMS, ${fmt(r.attempts.voice)} calls), ${fmt(r.attempts.handed)} handed to the provider${r.gateway.timedOut ? ` (timed out after ${r.options.timeoutSeconds} s)` : ''}.`,
    '',
    '| measure | gateway | limit | ratio (limit / gateway) |',
    '|---|---:|---:|---:|',
    ...r.rows.map(
      (x) =>
        `| ${x.measure} | ${secs(x.gatewayMs)} | ${secs(x.limitMs)} | ${x.ratio === null ? '–' : fmt(x.ratio, 3)} |`,
    ),
    '',
    l
      ? `Limit: ${l.method === 'copy' ? 'COPY' : 'INSERT … SELECT'} of ${fmt(l.deliveries)} deliveries + ${fmt(l.attempts)} attempts ${fmt(l.ms)} ms; addBulk of ${fmt(l.jobs.jobs.sms + l.jobs.jobs.voice)} jobs ${fmt(l.jobs.addBulkMs)} ms; processing them at concurrency ${r.options.smsConcurrency + (r.options.smsBatchSends ?? 0)} (SMS${r.options.smsBatchSends ? `: ${r.options.smsConcurrency} jobs of their own + ${r.options.smsBatchSends} sends of batch jobs` : ''}) / ${r.options.voiceConcurrency} (voice)${r.options.provider === 'http' ? ` with ${fmt(l.jobs.requests)} twilio-SDK requests` : ' (no-op)'} ${fmt(l.jobs.processMs)} ms.`
      : 'Limit: not measured (--no-limit).',
    `Gateway: ${r.gateway.sendsPerSecond === null ? '–' : fmt(r.gateway.sendsPerSecond)} attempts/s handed over. Contacted (provider side): ${fmt(r.contacted.smsPeople)} people by SMS (${r.contacted.smsTwice} more than once), ${fmt(r.contacted.voicePeople)} by call (${r.contacted.voiceTwice} more than once)${r.contacted.byExtraWorkers.length ? `; handed over by the extra worker processes: ${r.contacted.byExtraWorkers.map((n) => fmt(n)).join(', ')}` : ''}.`,
    ...(r.memory
      ? [
          `Peak RSS: gateway process (Node, HTTP and workers) ${fmt(r.memory.nodePeakMb)} MiB${r.memory.nodeStartMb === undefined ? '' : ` (${fmt(r.memory.nodeStartMb)} MiB once booted, before the warning; JS heap at the peak ${fmt(r.memory.nodeHeapAtPeakMb ?? 0)} MiB)`}, Redis ${fmt(r.memory.redisPeakMb)} MiB${r.memory.workerPeaksMb.length ? `, extra worker processes ${r.memory.workerPeaksMb.map((m) => `${fmt(m)} MiB`).join(', ')}` : ''}.`,
        ]
      : []),
    '',
    ...profileMarkdown(r.profile),
  ];
}

export type SessionProfile = FanoutBenchResult['profile'];

const code = (q: string) => `\`${q.replace(/\|/g, '\\|').replace(/`/g, "'")}\``;

/** The sampled Postgres sessions (and the statement totals) as Markdown tables. */
export function profileMarkdown(p: SessionProfile): string[] {
  return [
    `Postgres sessions of the gateway, sampled every 200 ms (${fmt(p.samples)} active-session samples):`,
    '',
    '| waiting on | share |',
    '|---|---:|',
    ...p.waits.map((w) => `| ${w.what} | ${fmt(w.share * 100)} % |`),
    '',
    '| statement (start) | share |',
    '|---|---:|',
    ...p.statements.map((x) => `| ${code(x.query)} | ${fmt(x.share * 100)} % |`),
    '',
    ...(p.blocked?.length
      ? [
          'Sessions waiting on a lock, and a session holding it (its state: its statement):',
          '',
          '| waiting statement (start) | held by | share |',
          '|---|---|---:|',
          ...p.blocked.map(
            (b) => `| ${code(b.query)} | ${code(b.blocker)} | ${fmt(b.share * 100)} % |`,
          ),
          '',
        ]
      : []),
    ...(p.totals?.length
      ? [
          'Execution time per statement in Postgres (pg_stat_statements, the whole run):',
          '',
          '| statement (start) | calls | rows | total | share |',
          '|---|---:|---:|---:|---:|',
          ...p.totals.map(
            (t) =>
              `| ${code(t.query)} | ${fmt(t.calls)} | ${fmt(t.rows)} | ${fmt(t.totalMs / 1000, 1)} s | ${fmt(t.share * 100)} % |`,
          ),
          '',
        ]
      : []),
  ];
}
