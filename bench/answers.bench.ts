/**
 * Answers under load (issue 10): keypress webhooks, signed as Twilio signs them, offered at R per
 * second for S seconds (open loop: a slow answer does not slow the offer) while the fan-out of an
 * imminent warning to N people (an SMS and a call each) is in flight, through the whole gateway.
 *
 * Each webhook presses 1 on a call of that warning, taken in the order the fan-out wrote them
 * (placed or still queued: the answer path is what is measured); when the calls written so far are
 * used up, a call is pressed again under a new CallSid (a call placed again), which records a new
 * answer as well. Measured from sending the request to its response, which the gateway sends once
 * the answer is recorded and the person's pending sends are stopped. Lost: no 2xx, or no answer
 * row for the webhook's CallSid afterwards. Late: answered after more than 1 s.
 *
 * The limit: the same requests (same paths, bodies and signatures), at the same rate, to a no-op
 * HTTP server in the same run. Speed is measured here only, never asserted in a test.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import twilio from 'twilio';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/data-source';
import {
  fanoutProgress,
  profileMarkdown,
  sampleSessions,
  type SessionProfile,
} from './fanout.bench';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  type BenchBackends,
  type BenchGateway,
  countyImminentWarning,
  fmt,
  machine,
  type Machine,
  openBackends,
  percentile,
  type ProviderKind,
  sleep,
  startBenchGateway,
  writeResults,
} from './gateway-harness';
import { startNoopServer } from './limits';

export interface AnswersBenchOptions {
  /** People in the county (default 20000); the fan-out in flight while answers come in. */
  people: number;
  provider: ProviderKind;
  /** Webhooks offered per second (default 500). */
  rate: number;
  /** Seconds of webhooks (default 60). */
  seconds: number;
  resultsDir?: string;
  log: (msg: string) => void;
}

export interface LoadStats {
  offered: number;
  answered: number;
  /** No 2xx within WEBHOOK_TIMEOUT_MS (error, timeout or another status). */
  failed: number;
  /** Answered (2xx) after more than 1 s. */
  late: number;
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
    lost: number;
    /** Of them, presses on a call already pressed (new CallSid). */
    repeats: number;
    /** Calls of the warning written (and so pressable) by the end. */
    callsWritten: number;
    /** The fan-out when the last webhook was offered. */
    fanoutAtEnd: { rowsWritten: boolean; attempts: number; handed: number };
  };
  limit: LoadStats;
  /** The gateway's Postgres sessions sampled while the webhooks came in. */
  profile: SessionProfile;
  rows: { measure: string; gateway: number; limit: number; ratio: number | null }[];
  files?: { json: string; markdown: string };
}

interface Press {
  path: string;
  params: Record<string, string>;
  signature: string;
  callSid: string;
}

/** Feeds the calls of the warning, in the order the fan-out wrote them. */
function callFeeder(ds: DataSource, warningId: string) {
  const pool: { id: string; providerId: string | null }[] = [];
  let next = 0;
  let repeats = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const rows: { id: string; provider_id: string | null }[] = await ds
        .query(
          `SELECT id, provider_id FROM contact_attempts
            WHERE warning_id = $1 AND channel = 'voice' ORDER BY queued_at, id OFFSET $2 LIMIT 5000`,
          [warningId, pool.length],
        )
        .catch(() => []);
      for (const r of rows) pool.push({ id: r.id, providerId: r.provider_id });
      await sleep(rows.length === 5000 ? 0 : 200);
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
  onSent?: (p: Press, ok: boolean) => void,
): Promise<LoadStats> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4096 });
  const url = new URL(target);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let failed = 0;
  let late = 0;
  let lastResponse = 0;
  const total = Math.max(1, Math.round(rate * seconds));
  const inflight: Promise<void>[] = [];
  const send = (p: Press) =>
    new Promise<void>((resolve) => {
      const body = new URLSearchParams(p.params).toString();
      const t0 = performance.now();
      const done = (status: string) => {
        clearTimeout(giveUp);
        lastResponse = performance.now();
        const ms = Math.min(lastResponse - t0, WEBHOOK_TIMEOUT_MS);
        statuses[status] = (statuses[status] ?? 0) + 1;
        const ok = /^2/.test(status);
        latencies.push(ok ? ms : WEBHOOK_TIMEOUT_MS);
        if (!ok) failed++;
        else if (ms > 1000) late++;
        onSent?.(p, ok);
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
          res.resume();
          res.on('end', () => done(String(res.statusCode)));
        },
      );
      const giveUp = setTimeout(() => req.destroy(new Error('timeout')), WEBHOOK_TIMEOUT_MS);
      req.on('error', (e) => done(e.message === 'timeout' ? 'timeout' : 'error'));
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
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? 0,
    // Answers per second from the first request to the last response.
    achievedPerSecond: (total - failed) / Math.max((lastResponse - start) / 1000, 0.001),
    statuses,
  };
}

export async function runAnswersBench(o: AnswersBenchOptions): Promise<AnswersBenchResult> {
  const { log } = o;
  const backends = await openBackends('answers_bench', log);
  let gw: BenchGateway | undefined;
  let observer: DataSource | undefined;
  try {
    log(
      `answers: ${o.rate} keypress webhooks/s for ${o.seconds} s during a fan-out to ${fmt(o.people)} people, ` +
        `provider ${o.provider} (${backends.where})`,
    );
    gw = await startBenchGateway(backends, { people: o.people, provider: o.provider }, log);
    // The bench's own queries on a pool of their own: none of the gateway's connections taken.
    observer = new DataSource({
      ...buildDataSourceOptions(backends.databaseUrl),
      extra: { max: 2, application_name: 'bench-observer' },
    } as ReturnType<typeof buildDataSourceOptions>);
    await observer.initialize();
    const stopSessions = sampleSessions(observer);
    const warningId = await gw.issue(countyImminentWarning());
    const feeder = callFeeder(observer, warningId);
    await feeder.ready();
    const presses: Press[] = [];
    const okSids: string[] = [];
    const base = gw.baseUrl;
    const stats = await offer(
      base,
      o.rate,
      o.seconds,
      () => {
        const p = pressFor(base, feeder.take());
        presses.push(p);
        return p;
      },
      (p, ok) => {
        if (ok) okSids.push(p.callSid);
      },
    );
    await feeder.stop();
    const profile = await stopSessions();
    const progress = await fanoutProgress(observer, warningId);
    const [{ n: recorded }] = await observer.query(
      `SELECT count(*)::int AS n FROM answers WHERE dedupe_key = ANY($1::text[])`,
      [presses.map((p) => `voice:${p.callSid}`)],
    );
    const repeats = feeder.repeats();
    const callsWritten = feeder.size();
    await observer.destroy();
    observer = undefined;
    await gw.close();
    gw = undefined;

    log('limit: the same requests to a no-op HTTP server …');
    const noop = await startNoopServer();
    let i = 0;
    const limit = await offer(noop.url, o.rate, o.seconds, () => presses[i++ % presses.length]);
    await noop.close();

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
        repeats,
        callsWritten,
        fanoutAtEnd: {
          rowsWritten: progress.rowsMs !== null,
          attempts: progress.total,
          handed: progress.handed,
        },
      },
      limit,
      profile,
      rows: [
        {
          measure: 'p50 ms, request to answer recorded',
          gateway: stats.p50Ms,
          limit: limit.p50Ms,
          ratio: ratio(limit.p50Ms, stats.p50Ms),
        },
        {
          measure: 'p99 ms, request to answer recorded',
          gateway: stats.p99Ms,
          limit: limit.p99Ms,
          ratio: ratio(limit.p99Ms, stats.p99Ms),
        },
        {
          measure: 'answers per second achieved',
          gateway: stats.achievedPerSecond,
          limit: limit.achievedPerSecond,
          ratio: ratio(stats.achievedPerSecond, limit.achievedPerSecond),
        },
      ],
    };
    const md = answersMarkdown(result);
    log('');
    for (const line of md.slice(2)) log(line);
    result.files = writeResults(
      'answers',
      result.at,
      result,
      md,
      o.resultsDir ?? path.resolve(__dirname, 'results'),
    );
    log(`results: ${result.files.json}, ${result.files.markdown}`);
    return result;
  } finally {
    await observer?.destroy().catch(() => undefined);
    await gw?.close().catch(() => undefined);
    await backends.close();
  }
}

function answersMarkdown(r: AnswersBenchResult): string[] {
  const g = r.gateway;
  const show = (x: { measure: string }, v: number) =>
    x.measure.startsWith('p') && v >= WEBHOOK_TIMEOUT_MS ? `≥ ${fmt(v)} (timed out)` : fmt(v, 1);
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
    `Gateway: ${fmt(g.offered)} offered, ${fmt(g.answered)} answered 2xx, ${fmt(g.recorded)} answers recorded, ${fmt(g.lost)} lost, ${fmt(g.late)} answered after more than 1 s (max ${fmt(g.maxMs)} ms), ${fmt(g.repeats)} presses on a call already pressed (${fmt(g.callsWritten)} calls written by the end); statuses ${JSON.stringify(g.statuses)}.`,
    `The fan-out when the last answer came back: rows ${g.fanoutAtEnd.rowsWritten ? 'all written' : 'still being written'}, ${fmt(g.fanoutAtEnd.handed)} of ${fmt(g.fanoutAtEnd.attempts)} attempts handed to the provider.`,
    '',
    ...profileMarkdown(r.profile),
  ];
}
