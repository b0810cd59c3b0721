/**
 * Answers under load (issue 10): keypress webhooks, signed as Twilio signs them, offered at R per
 * second for S seconds (open loop: a slow answer does not slow the offer) while the fan-out of an
 * imminent warning to N people (an SMS and a call each) is in flight, through the whole gateway.
 *
 * Each webhook presses 1 on a call of that warning that was placed (handed to the provider), in
 * the order they were placed, under its CallSid; when the calls placed so far are used up, a call
 * is pressed again under a new CallSid (a call placed again), which records a new answer as well.
 * Measured from sending the request to its response (webhook answered), and to the commit of the
 * answer, which also stops the person's pending sends (answer recorded). Lost: no 2xx, or no
 * answer row for the webhook's CallSid afterwards. Late: answered after more than 1 s.
 *
 * The limit: the same requests (same paths, bodies and signatures), at the same rate, to a no-op
 * HTTP server in the same run. Speed is measured here only, never asserted in a test.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import twilio from 'twilio';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '../src/database/data-source';
import { receivedVoice } from '../src/modules/responses/inbound-events';
import {
  fanoutProgress,
  profileMarkdown,
  statementTotals,
  sampleSessions,
  type SessionProfile,
} from './fanout.bench';
import {
  forkBenchProcess,
  freePort,
  type BenchProcess,
  type ProcessReport,
} from './answers-processes';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  BENCH_COUNTY,
  type BenchBackends,
  countyImminentWarning,
  countySql,
  fmt,
  FROM_NUMBER,
  machine,
  type Machine,
  openBackends,
  percentile,
  type ProviderKind,
  sleep,
  publishResults,
  openObserver,
} from './gateway-harness';

export interface AnswersBenchOptions {
  /** People in the county (default 20000); the fan-out in flight while answers come in. */
  people: number;
  provider: ProviderKind;
  /** Webhooks offered per second (default 500). */
  rate: number;
  /** Seconds of webhooks (default 60). */
  seconds: number;
  /** More environment for the gateway's processes (e.g. its shedding settings). */
  env?: Record<string, string>;
  resultsDir?: string;
  log: (msg: string) => void;
}

export interface ProcessFigures {
  peakMb: number;
  /** CPU time while the webhooks came in, as a share of one core. */
  cpuShare: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface LoadStats {
  offered: number;
  answered: number;
  /** No 2xx within WEBHOOK_TIMEOUT_MS (error, timeout or another status). */
  failed: number;
  /** Answered (2xx) after more than 1 s. */
  late: number;
  /** Requests the generator sent on a connection it opened for them (the rest reused one). */
  onNewConnections: number;
  /** Of those, answered late or not at all. */
  lateOnNewConnections: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Responses per second over the offered window. */
  achievedPerSecond: number;
  statuses: Record<string, number>;
}

export interface AnswersBenchResult {
  at: string;
  options: { people: number; provider: ProviderKind; rate: number; seconds: number };
  machine: Machine;
  versions: BenchBackends['versions'];
  where: string;
  warningId: string;
  gateway: LoadStats & {
    /** Webhooks whose answer row is in the database afterwards. */
    recorded: number;
    /** Answered before the answer was recorded (the thanks naming no warning). */
    acknowledgedEarly: number;
    /** From sending the request to the answer's commit (or its transaction's start). */
    recordedLatency: {
      clock: 'commit' | 'transaction start';
      p50Ms: number;
      p99Ms: number;
      maxMs: number;
      under50Ms: number;
      /** From sending the request to the start of the answer's transaction (with commit times). */
      beforeTransaction?: { p50Ms: number; p99Ms: number };
      /** From the start of the answer's transaction to its commit (with commit times). */
      inTransaction?: { p50Ms: number; p99Ms: number };
    };
    lost: number;
    /** Of them, presses on a call already pressed (new CallSid). */
    repeats: number;
    /** Calls of the warning written (and so pressable) by the end. */
    callsWritten: number;
    /** The fan-out when the last webhook was offered. */
    fanoutAtEnd: { rowsWritten: boolean; attempts: number; handed: number };
    /** The same figures per second of the first 10 s, then per 10 s, by when each request was sent. */
    timeline: TimelineRow[];
  };
  limit: LoadStats;
  /** The API process, the worker process and the limit's no-op server, each in its own process. */
  processes: { api: ProcessFigures; worker: ProcessFigures; noop: ProcessFigures };
  /** The gateway's Postgres sessions sampled while the webhooks came in. */
  profile: SessionProfile;
  rows: { measure: string; gateway: number; limit: number; ratio: number | null }[];
  files?: { json: string; markdown: string };
}

export interface TimelineRow {
  /** Seconds from the first request sent: [fromS, fromS + 1) in the first 10 s, else [fromS, fromS + 10). */
  fromS: number;
  offered: number;
  /** Answered 2xx after more than 1 s, or not at all. */
  lateOrFailed: number;
  acknowledgedEarly: number;
  recordedP50Ms: number;
  recordedP99Ms: number;
  recordedUnder50Ms: number;
  /** Of the time to recorded, the median spent in the answer's transaction. */
  inTransactionP50Ms: number;
}

/** Per second, then per 10 s of sending: webhooks late, acknowledged early, request to recorded. */
function timelineOf(
  sent: {
    at: number;
    ms: number;
    ok: boolean;
    early: boolean;
    recordedMs?: number;
    inTransactionMs?: number;
  }[],
): TimelineRow[] {
  if (!sent.length) return [];
  const first = Math.min(...sent.map((x) => x.at));
  const buckets = new Map<number, typeof sent>();
  for (const x of sent) {
    // The first 10 s second by second (the fan-out's rows are being written), then per 10 s.
    const sec = Math.floor((x.at - first) / 1000);
    const b = sec < 10 ? sec : Math.floor(sec / 10) * 10;
    const list = buckets.get(b);
    if (list) list.push(x);
    else buckets.set(b, [x]);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([fromS, xs]) => {
      const rec = xs
        .map((x) => x.recordedMs)
        .filter((m): m is number => m !== undefined)
        .sort((a, b) => a - b);
      const inside = xs
        .map((x) => x.inTransactionMs)
        .filter((m): m is number => m !== undefined)
        .sort((a, b) => a - b);
      return {
        fromS,
        offered: xs.length,
        lateOrFailed: xs.filter((x) => !x.ok || x.ms > 1000).length,
        acknowledgedEarly: xs.filter((x) => x.early).length,
        recordedP50Ms: percentile(rec, 50),
        recordedP99Ms: percentile(rec, 99),
        recordedUnder50Ms: rec.filter((m) => m < 50).length,
        inTransactionP50Ms: percentile(inside, 50),
      };
    });
}

interface Press {
  path: string;
  params: Record<string, string>;
  signature: string;
  callSid: string;
}

/** The calls placed since the last ask, with their CallSid. */
type CallSource = () => Promise<{ id: string; providerId: string | null }[]>;

/**
 * Calls of the warning handed to the provider, read from the gateway's database (the in-process
 * null provider has no server to ask): a query a few times a second beside the gateway's own.
 */
function databaseCalls(ds: DataSource, warningId: string): CallSource {
  // Placed since (Postgres time, ms since epoch), less a margin for sends committed out of order.
  let since = 0;
  return async () => {
    const rows: { id: string; provider_id: string; at: number }[] = await ds
      .query(
        `SELECT id, provider_id, extract(epoch FROM sent_at) * 1000 AS at FROM contact_attempts
          WHERE warning_id = $1 AND channel = 'voice' AND provider_id IS NOT NULL
            AND sent_at >= to_timestamp($2 / 1000.0)
          ORDER BY sent_at, id LIMIT 20000`,
        [warningId, Math.max(0, since - 1000)],
      )
      .catch(() => []);
    for (const r of rows) since = Math.max(since, Number(r.at));
    return rows.map((r) => ({ id: r.id, providerId: r.provider_id }));
  };
}

/**
 * Calls placed, as the Twilio-like server saw them (its SID, the attempt in its TwiML URL): what
 * Twilio knows of its calls, asked of the provider's process rather than the gateway's database.
 */
function providerCalls(stubUrl: string): CallSource {
  let from = 0;
  return async () => {
    const res = await fetch(`${stubUrl}/_bench/calls?from=${from}`).catch(() => undefined);
    if (!res?.ok) return [];
    const body = (await res.json()) as { calls: { sid: string; url: string }[]; next: number };
    from = body.next;
    return body.calls.flatMap((c) => {
      const m = /\/voice\/([0-9a-f-]{36})\//.exec(c.url);
      return m ? [{ id: m[1], providerId: c.sid }] : [];
    });
  };
}

/**
 * Feeds the calls of the warning that were placed (handed to the provider, with their CallSid), in
 * the order they were placed: Twilio posts a Gather action only for a call it placed.
 */
function callFeeder(source: CallSource) {
  const pool: { id: string; providerId: string | null }[] = [];
  const seen = new Set<string>();
  let next = 0;
  let repeats = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      let fresh = 0;
      for (const c of await source()) {
        if (seen.has(c.id)) continue;
        seen.add(c.id);
        pool.push({ id: c.id, providerId: c.providerId });
        fresh++;
      }
      await sleep(fresh >= 1000 ? 0 : 200);
    }
  })();
  return {
    ready: async () => {
      while (!pool.length) await sleep(50);
    },
    take: (): { id: string; callSid: string } => {
      if (next < pool.length) {
        const c = pool[next++];
        return { id: c.id, callSid: c.providerId ?? `CA${randomBytes(16).toString('hex')}` };
      }
      repeats++;
      const c = pool[Math.floor(Math.random() * pool.length)];
      return { id: c.id, callSid: `CA${randomBytes(16).toString('hex')}` };
    },
    repeats: () => repeats,
    size: () => pool.length,
    stop: async () => {
      stop = true;
      await loop;
    },
  };
}

function pressFor(baseUrl: string, call: { id: string; callSid: string }): Press {
  const p = `/webhooks/twilio/voice/${call.id}/gather?round=1`;
  const params = { AccountSid: ACCOUNT_SID, CallSid: call.callSid, Digits: '1' };
  return {
    path: p,
    params,
    signature: twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${baseUrl}${p}`, params),
    callSid: call.callSid,
  };
}

/**
 * What a keypress 1 acknowledged before it was recorded hears (the words of a key kept during a
 * database outage, naming no warning); a recorded one hears the warning's own thanks.
 */
const EARLY_THANKS = receivedVoice('1');

/** Twilio gives up on a webhook after 15 s; so does the load generator. */
export const WEBHOOK_TIMEOUT_MS = 15_000;

/**
 * Offers `next()` requests at `rate` per second for `seconds` to `target`, open loop, and waits for
 * every response or WEBHOOK_TIMEOUT_MS from sending. Latencies count from the instant a request
 * was due; one not answered in time counts as WEBHOOK_TIMEOUT_MS in the percentiles (a lower
 * bound), so that p99 cannot look better by dropping the slowest.
 */
async function offer(
  target: string,
  rate: number,
  seconds: number,
  next: () => Press,
  onSent?: (p: Press, r: { ok: boolean; sentAt: number; ms: number; body: string }) => void,
): Promise<LoadStats> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4096 });
  const url = new URL(target);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let failed = 0;
  let late = 0;
  let onNew = 0;
  let lateOnNew = 0;
  let lastResponse = 0;
  const total = Math.max(1, Math.round(rate * seconds));
  const inflight: Promise<void>[] = [];
  const send = (p: Press) =>
    new Promise<void>((resolve) => {
      const body = new URLSearchParams(p.params).toString();
      const t0 = performance.now();
      let text = '';
      // Whether the agent opened a connection for this request (false once it took a kept one).
      let fresh = false;
      const done = (status: string) => {
        clearTimeout(giveUp);
        lastResponse = performance.now();
        const ms = Math.min(lastResponse - t0, WEBHOOK_TIMEOUT_MS);
        statuses[status] = (statuses[status] ?? 0) + 1;
        const ok = /^2/.test(status);
        latencies.push(ok ? ms : WEBHOOK_TIMEOUT_MS);
        if (!ok) failed++;
        else if (ms > 1000) late++;
        if (fresh) {
          onNew++;
          if (!ok || ms > 1000) lateOnNew++;
        }
        onSent?.(p, { ok, sentAt: performance.timeOrigin + t0, ms, body: text });
        resolve();
      };
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: p.path,
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            'x-twilio-signature': p.signature,
          },
        },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => done(String(res.statusCode)));
        },
      );
      req.on('socket', () => (fresh = !req.reusedSocket));
      const giveUp = setTimeout(() => req.destroy(new Error('timeout')), WEBHOOK_TIMEOUT_MS);
      req.on('error', (e: NodeJS.ErrnoException) =>
        done(e.message === 'timeout' ? 'timeout' : `error ${e.code ?? e.message}`),
      );
      req.end(body);
    });
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (sent < due) {
      inflight.push(send(next()));
      sent++;
    }
    await sleep(5);
  }
  await Promise.all(inflight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    offered: total,
    answered: total - failed,
    failed,
    late,
    onNewConnections: onNew,
    lateOnNewConnections: lateOnNew,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? 0,
    // Answers per second from the first request to the last response.
    achievedPerSecond: (total - failed) / Math.max((lastResponse - start) / 1000, 0.001),
    statuses,
  };
}

/** The gateway as in production: an API process and a worker process, and the provider's server. */
interface SplitGateway {
  baseUrl: string;
  token: string;
  api: BenchProcess<{ token: string }>;
  worker: BenchProcess<Record<string, never>>;
  stub?: BenchProcess<{ url: string }>;
  /** Marks the start of the measured window in every process. */
  measure(): void;
  stop(): Promise<{ api: ProcessReport; worker: ProcessReport }>;
  issue(body: unknown): Promise<string>;
}

async function startSplitGateway(
  b: BenchBackends,
  o: { people: number; provider: ProviderKind; env?: Record<string, string> },
  log: (msg: string) => void,
): Promise<SplitGateway> {
  const seedStart = Date.now();
  const migrator = new DataSource(buildDataSourceOptions(b.databaseUrl));
  await migrator.initialize();
  await runMigrations(migrator);
  await migrator.query(countySql(o.people));
  await migrator.destroy();
  log(`seeded a county of ${o.people} people (${((Date.now() - seedStart) / 1000).toFixed(1)} s)`);
  const stub =
    o.provider === 'http' ? await forkBenchProcess<{ url: string }>('stub', {}) : undefined;
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATABASE_URL: b.databaseUrl,
    BENCH_REDIS_URL: b.redisUrl,
    QUEUE_PREFIX: b.queuePrefix,
    APP_SECRET: process.env.APP_SECRET ?? 'bench-app-secret-'.padEnd(40, 'b'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    PUBLIC_BASE_URL: baseUrl,
    PORT: String(port),
    BENCH_API_PORT: String(port),
    BENCH_COUNTY,
    BENCH_WORKER_PROVIDER: o.provider,
    TWO_PERSON_RELEASE: 'off',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_FROM_NUMBER: FROM_NUMBER,
    // The null provider never calls it; the configuration wants a URL.
    TWILIO_API_BASE_URL: stub?.ready.url ?? 'http://127.0.0.1:9',
    // Provider rate limits raised out of the way: the gateway itself is measured.
    TWILIO_SMS_PER_SECOND: '10000',
    TWILIO_CALLS_PER_SECOND: '1000',
    ...(o.env ?? {}),
  };
  const [api, worker] = await Promise.all([
    forkBenchProcess<{ token: string }>('api', env),
    forkBenchProcess<Record<string, never>>('worker', env),
  ]).catch(async (err) => {
    await stub?.stop().catch(() => undefined);
    throw err;
  });
  const token = api.ready.token;
  return {
    baseUrl,
    token,
    api,
    worker,
    stub,
    measure: () => {
      api.measure();
      worker.measure();
    },
    stop: async () => {
      const [a, w] = await Promise.all([api.stop(), worker.stop()]);
      await stub?.stop().catch(() => undefined);
      return { api: a, worker: w };
    },
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
  };
}

const processFigures = (r: ProcessReport) => ({
  peakMb: r.peakMb,
  cpuShare: Math.round(r.cpuShare * 100) / 100,
  loopDelayP99Ms: Math.round(r.loopDelayP99Ms * 10) / 10,
  loopDelayMaxMs: Math.round(r.loopDelayMaxMs * 10) / 10,
});

export async function runAnswersBench(o: AnswersBenchOptions): Promise<AnswersBenchResult> {
  const { log } = o;
  const backends = await openBackends('answers_bench', log);
  let gw: SplitGateway | undefined;
  let observer: DataSource | undefined;
  try {
    log(
      `answers: ${o.rate} keypress webhooks/s for ${o.seconds} s during a fan-out to ${fmt(o.people)} people, ` +
        `provider ${o.provider} (${backends.where}); API, workers and load generator in separate processes`,
    );
    gw = await startSplitGateway(
      backends,
      { people: o.people, provider: o.provider, env: o.env },
      log,
    );
    observer = await openObserver(backends.databaseUrl);
    const stopSessions = sampleSessions(observer);
    const totals = await statementTotals(observer);
    const warningId = await gw.issue(countyImminentWarning());
    // Over HTTP, the calls come from the Twilio-like server, as Twilio knows its calls; with
    // the null provider, from the gateway's database.
    const feeder = callFeeder(
      gw.stub ? providerCalls(gw.stub.ready.url) : databaseCalls(observer, warningId),
    );
    await feeder.ready();
    const presses: Press[] = [];
    /** Each press as it came back, by CallSid: when it was sent (epoch ms), how it ended. */
    const outcomes = new Map<string, { at: number; ms: number; ok: boolean; early: boolean }>();
    const base = gw.baseUrl;
    gw.measure();
    const stats = await offer(
      base,
      o.rate,
      o.seconds,
      () => {
        const p = pressFor(base, feeder.take());
        presses.push(p);
        return p;
      },
      (p, r) =>
        outcomes.set(p.callSid, {
          at: r.sentAt,
          ms: r.ms,
          ok: r.ok,
          // The thanks naming no warning: acknowledged before it was recorded.
          early: r.ok && r.body.includes(EARLY_THANKS),
        }),
    );
    const sent = [...outcomes.values()];
    const answered = sent.filter((x) => x.ok).length;
    const early = sent.filter((x) => x.early).length;
    const sentAt = (sid: string) => outcomes.get(sid)?.at;
    await feeder.stop();
    const profile: SessionProfile = { ...(await stopSessions()), totals: await totals() };
    const progress = await fanoutProgress(observer, warningId);
    // Answers acknowledged before they were recorded are recorded in the API process's
    // background: give them until that is done (or 60 s).
    const keys = presses.map((p) => `voice:${p.callSid}`);
    const recordedNow = async () =>
      Number(
        (
          await observer!.query(
            `SELECT count(*)::int AS n FROM answers WHERE dedupe_key = ANY($1::text[])`,
            [keys],
          )
        )[0].n,
      );
    let recorded = await recordedNow();
    for (let waited = 0; recorded < answered && waited < 60_000; waited += 500) {
      await sleep(500);
      recorded = await recordedNow();
    }
    // When each answer was committed (track_commit_timestamp, as the bench's embedded Postgres
    // runs), else when its transaction started (received_at): from the press's sending.
    const [{ on }] = await observer.query(
      `SELECT current_setting('track_commit_timestamp') = 'on' AS on`,
    );
    const times: { key: string; at: number; started: number }[] = await observer.query(
      `SELECT dedupe_key AS key,
              extract(epoch FROM ${on ? 'coalesce(pg_xact_commit_timestamp(xmin), received_at)' : 'received_at'}) * 1000 AS at,
              extract(epoch FROM received_at) * 1000 AS started
         FROM answers WHERE dedupe_key = ANY($1::text[])`,
      [keys],
    );
    // Where the time went: before the answer's transaction began (the HTTP request, the handler,
    // the wait for a lane), and in it (its statements and its commit).
    const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
    const before = sorted(
      times.map(
        (r) => Number(r.started) - (sentAt(r.key.slice('voice:'.length)) ?? Number(r.started)),
      ),
    );
    const inside = sorted(times.map((r) => Number(r.at) - Number(r.started)));
    const recordedBySid = new Map(
      times.map((r) => {
        const sid = r.key.slice('voice:'.length);
        return [sid, Number(r.at) - (sentAt(sid) ?? Number(r.at))] as const;
      }),
    );
    const recordedMs = [...recordedBySid.values()].sort((a, b) => a - b);
    const insideBySid = new Map(
      times.map((r) => [r.key.slice('voice:'.length), Number(r.at) - Number(r.started)] as const),
    );
    const timeline = timelineOf(
      [...outcomes.entries()].map(([sid, x]) => ({
        ...x,
        recordedMs: recordedBySid.get(sid),
        inTransactionMs: on ? insideBySid.get(sid) : undefined,
      })),
    );
    const recordedStats = {
      clock: on ? ('commit' as const) : ('transaction start' as const),
      p50Ms: percentile(recordedMs, 50),
      p99Ms: percentile(recordedMs, 99),
      maxMs: recordedMs[recordedMs.length - 1] ?? 0,
      under50Ms: recordedMs.filter((x) => x < 50).length,
      // Known only with the commit's time (track_commit_timestamp).
      ...(on
        ? {
            beforeTransaction: { p50Ms: percentile(before, 50), p99Ms: percentile(before, 99) },
            inTransaction: { p50Ms: percentile(inside, 50), p99Ms: percentile(inside, 99) },
          }
        : {}),
    };
    const repeats = feeder.repeats();
    const callsWritten = feeder.size();
    await observer.destroy();
    observer = undefined;
    const reports = await gw.stop();
    gw = undefined;

    log('limit: the same requests to a no-op HTTP server in a process of its own …');
    const noop = await forkBenchProcess<{ url: string }>('noop', {});
    let i = 0;
    noop.measure();
    const limit = await offer(
      noop.ready.url,
      o.rate,
      o.seconds,
      () => presses[i++ % presses.length],
    );
    const noopReport = await noop.stop();

    const ratio = (l: number, g: number) => (g > 0 ? l / g : null);
    const result: AnswersBenchResult = {
      at: new Date().toISOString(),
      options: { people: o.people, provider: o.provider, rate: o.rate, seconds: o.seconds },
      machine: machine(),
      versions: backends.versions,
      where: backends.where,
      warningId,
      gateway: {
        ...stats,
        recorded,
        lost: stats.offered - recorded,
        acknowledgedEarly: early,
        recordedLatency: recordedStats,
        repeats,
        callsWritten,
        fanoutAtEnd: {
          rowsWritten: progress.rowsMs !== null,
          attempts: progress.total,
          handed: progress.handed,
        },
        timeline,
      },
      limit,
      processes: {
        api: processFigures(reports.api),
        worker: processFigures(reports.worker),
        noop: processFigures(noopReport),
      },
      profile,
      rows: [
        {
          measure: 'p50 ms, request to webhook answered',
          gateway: stats.p50Ms,
          limit: limit.p50Ms,
          ratio: ratio(limit.p50Ms, stats.p50Ms),
        },
        {
          measure: 'p99 ms, request to webhook answered',
          gateway: stats.p99Ms,
          limit: limit.p99Ms,
          ratio: ratio(limit.p99Ms, stats.p99Ms),
        },
        {
          measure: 'p50 ms, request to answer recorded',
          gateway: recordedStats.p50Ms,
          limit: limit.p50Ms,
          ratio: ratio(limit.p50Ms, recordedStats.p50Ms),
        },
        {
          measure: 'p99 ms, request to answer recorded',
          gateway: recordedStats.p99Ms,
          limit: limit.p99Ms,
          ratio: ratio(limit.p99Ms, recordedStats.p99Ms),
        },
        {
          measure: 'webhooks answered 2xx within 1 s',
          gateway: stats.answered - stats.late,
          limit: limit.answered - limit.late,
          ratio: ratio(stats.answered - stats.late, limit.answered - limit.late),
        },
        {
          measure: 'answers per second achieved',
          gateway: stats.achievedPerSecond,
          limit: limit.achievedPerSecond,
          ratio: ratio(stats.achievedPerSecond, limit.achievedPerSecond),
        },
      ],
    };
    result.files = publishResults(
      'answers',
      result,
      answersMarkdown(result),
      o.resultsDir ?? path.resolve(__dirname, 'results'),
      log,
    );
    return result;
  } finally {
    await observer?.destroy().catch(() => undefined);
    await gw?.stop().catch(() => undefined);
    await backends.close();
  }
}

/** Where the time to recorded went, when commit times are known. */
function splitOf(l: AnswersBenchResult['gateway']['recordedLatency']): string {
  const { beforeTransaction: b, inTransaction: i } = l;
  if (!b || !i) return '';
  return ` Of that time, p50 / p99: ${fmt(b.p50Ms, 1)} / ${fmt(b.p99Ms, 1)} ms before its transaction began (request, handler, wait for a lane), ${fmt(i.p50Ms, 1)} / ${fmt(i.p99Ms, 1)} ms in it (statements, commit).`;
}

function answersMarkdown(r: AnswersBenchResult): string[] {
  const g = r.gateway;
  const show = (x: { measure: string }, v: number) =>
    x.measure.startsWith('p') && x.measure.endsWith('webhook answered') && v >= WEBHOOK_TIMEOUT_MS
      ? `≥ ${fmt(v)} (timed out)`
      : fmt(v, 1);
  return [
    `# Answers: ${fmt(r.options.rate)} keypress webhooks/s for ${r.options.seconds} s during a fan-out to ${fmt(r.options.people)} people, provider ${r.options.provider}`,
    '',
    `${r.at}. Machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGb} GB, load ${r.machine.loadavg.join(' ')}.`,
    `Node ${r.versions.node}, PostgreSQL ${r.versions.postgres}, Redis ${r.versions.redis}; ${r.where}.`,
    '',
    '| measure | gateway | limit (no-op server) | ratio |',
    '|---|---:|---:|---:|',
    ...r.rows.map(
      (x) =>
        `| ${x.measure} | ${show(x, x.gateway)} | ${show(x, x.limit)} | ${x.ratio === null ? '–' : x.ratio.toPrecision(2)} |`,
    ),
    '',
    `Ratio: limit / gateway for latencies, gateway / limit for the rate (1 = as good as the limit).`,
    `Answer recorded: measured to its ${g.recordedLatency.clock} on Postgres's clock; ${fmt(g.recordedLatency.under50Ms)} of ${fmt(g.recorded)} recorded within 50 ms of the request (max ${fmt(g.recordedLatency.maxMs)} ms).${splitOf(g.recordedLatency)}`,
    `Gateway: ${fmt(g.offered)} offered, ${fmt(g.answered)} answered 2xx (${fmt(g.acknowledgedEarly)} of them acknowledged before the answer was recorded), ${fmt(g.recorded)} answers recorded, ${fmt(g.lost)} lost, ${fmt(g.late)} answered after more than 1 s (max ${fmt(g.maxMs)} ms), ${fmt(g.onNewConnections)} sent on a new connection (${fmt(g.lateOnNewConnections)} of them late or not answered), ${fmt(g.repeats)} presses on a call already pressed (${fmt(g.callsWritten)} calls written by the end); statuses ${JSON.stringify(g.statuses)}.`,
    `Processes (CPU as a share of one core while the webhooks came in; event-loop delay p99 / max): ${(['api', 'worker', 'noop'] as const).map((k) => `${k} ${fmt(r.processes[k].cpuShare, 2)} CPU, ${fmt(r.processes[k].loopDelayP99Ms, 1)} / ${fmt(r.processes[k].loopDelayMaxMs)} ms, ${fmt(r.processes[k].peakMb)} MiB`).join('; ')}. The load generator is the parent process.`,
    `The fan-out when the last answer came back: rows ${g.fanoutAtEnd.rowsWritten ? 'all written' : 'still being written'}, ${fmt(g.fanoutAtEnd.handed)} of ${fmt(g.fanoutAtEnd.attempts)} attempts handed to the provider.`,
    '',
    'Per second of the first 10 s, then per 10 s of sending (by when each request was sent):',
    '',
    '| from s | offered | answered late (> 1 s) or not | acknowledged before recorded | p50 / p99 ms to recorded | of which p50 in its transaction | recorded within 50 ms |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...g.timeline.map(
      (t) =>
        `| ${t.fromS} | ${fmt(t.offered)} | ${fmt(t.lateOrFailed)} | ${fmt(t.acknowledgedEarly)} | ${fmt(t.recordedP50Ms)} / ${fmt(t.recordedP99Ms)} | ${fmt(t.inTransactionP50Ms)} | ${fmt(t.recordedUnder50Ms)} |`,
    ),
    '',
    ...profileMarkdown(r.profile),
  ];
}
