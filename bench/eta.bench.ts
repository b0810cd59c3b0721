import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { fanoutProgress } from './fanout.bench';
import {
  countyRedWarning,
  fmt,
  machine,
  type Machine,
  openBackends,
  type ProviderKind,
  sleep,
  startBenchGateway,
  publishResults,
  openObserver,
} from './gateway-harness';

/**
 * The ETA shown at issue against the actual finish, under real provider rate limits.
 *
 * A red warning to a synthetic county goes out with the providers' limits where a real account
 * has them (default 10 SMS/s and 1 call/s), not raised out of the way as in `fanout`. The gateway
 * records its estimate of the last first contact when the warning's rows are written
 * (`warnings.first_contact_eta`, shown by `GET /v1/warnings/:id`); the bench compares it with the
 * last first contact actually handed to the provider, and each channel's achieved rate with its
 * limit. Both are ratios of the same run, so the machine's load moves them little. Issue 10's
 * goals: the ETA within 10 % of the actual finish, the achieved rates within 5 % of the limits.
 */
export interface EtaBenchOptions {
  people: number;
  provider: ProviderKind;
  smsPerSecond: number;
  callsPerSecond: number;
  timeoutSeconds: number;
  resultsDir?: string;
  log: (msg: string) => void;
}

export interface ChannelRate {
  channel: 'sms' | 'voice';
  sends: number;
  /** From the first to the last send of the channel, in seconds. */
  spanSeconds: number | null;
  achievedPerSecond: number | null;
  limitPerSecond: number;
  /** achieved / limit (1 = exactly at the limit). */
  ratio: number | null;
}

export interface EtaBenchResult {
  at: string;
  scenario: 'eta';
  options: Omit<EtaBenchOptions, 'log' | 'resultsDir'>;
  machine: Machine;
  warningId: string;
  attempts: number;
  timedOut: boolean;
  /** Seconds from issue: the ETA recorded, and the last first contact handed over. */
  etaSeconds: number | null;
  actualSeconds: number | null;
  /** (ETA - actual) / actual: negative when the ETA promised too early. */
  etaError: number | null;
  rates: ChannelRate[];
  files?: { json: string; markdown: string };
}

export async function runEtaBench(o: EtaBenchOptions): Promise<EtaBenchResult> {
  const { log } = o;
  const backends = await openBackends('eta_bench', log);
  let gw: Awaited<ReturnType<typeof startBenchGateway>> | undefined;
  let observer: DataSource | undefined;
  try {
    log(
      `eta: a red warning to ${fmt(o.people)} people at ${o.smsPerSecond} SMS/s and ` +
        `${o.callsPerSecond} calls/s, provider ${o.provider} (${backends.where})`,
    );
    gw = await startBenchGateway(
      backends,
      {
        people: o.people,
        provider: o.provider,
        env: {
          TWILIO_SMS_PER_SECOND: String(o.smsPerSecond),
          TWILIO_CALLS_PER_SECOND: String(o.callsPerSecond),
        },
      },
      log,
    );
    observer = await openObserver(backends.databaseUrl);
    const warningId = await gw.issue(countyRedWarning());
    const deadline = Date.now() + o.timeoutSeconds * 1000;
    let p = await fanoutProgress(observer, warningId, { cheap: true });
    let lastLog = 0;
    while (!p.done && Date.now() < deadline) {
      await sleep(1000);
      p = await fanoutProgress(observer, warningId, { cheap: true });
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`  ${fmt(p.pending)} attempts waiting to be handed to the provider`);
      }
    }
    if (!p.done) p = await fanoutProgress(observer, warningId);
    const [w] = await observer.query(
      `SELECT extract(epoch FROM first_contact_eta - created_at) AS eta,
              extract(epoch FROM (SELECT max(sent_at) FROM contact_attempts WHERE warning_id = $1)
                                 - created_at) AS actual
         FROM warnings WHERE id = $1`,
      [warningId],
    );
    const perChannel = (await observer.query(
      `SELECT channel, count(*)::int AS sends,
              extract(epoch FROM max(sent_at) - min(sent_at)) AS span
         FROM contact_attempts WHERE warning_id = $1 AND sent_at IS NOT NULL
        GROUP BY channel`,
      [warningId],
    )) as { channel: string; sends: number; span: string | null }[];
    const limits = { sms: o.smsPerSecond, voice: o.callsPerSecond } as const;
    const rates: ChannelRate[] = (['sms', 'voice'] as const).map((channel) => {
      const row = perChannel.find((r) => r.channel === channel);
      const sends = row?.sends ?? 0;
      const span = row?.span == null ? null : Number(row.span);
      // n sends at r per second span (n - 1) / r seconds from the first to the last.
      const achieved = span && sends > 1 ? (sends - 1) / span : null;
      return {
        channel,
        sends,
        spanSeconds: span,
        achievedPerSecond: achieved,
        limitPerSecond: limits[channel],
        ratio: achieved === null ? null : achieved / limits[channel],
      };
    });
    const eta = w?.eta == null ? null : Number(w.eta);
    const actual = p.done && w?.actual != null ? Number(w.actual) : null;
    const result: EtaBenchResult = {
      at: new Date().toISOString(),
      scenario: 'eta',
      options: {
        people: o.people,
        provider: o.provider,
        smsPerSecond: o.smsPerSecond,
        callsPerSecond: o.callsPerSecond,
        timeoutSeconds: o.timeoutSeconds,
      },
      machine: machine(),
      warningId,
      attempts: p.total,
      timedOut: !p.done,
      etaSeconds: eta,
      actualSeconds: actual,
      etaError: eta !== null && actual ? (eta - actual) / actual : null,
      rates,
    };
    await observer.destroy();
    observer = undefined;
    await gw.close();
    gw = undefined;
    result.files = publishResults(
      'eta',
      result,
      etaMarkdown(result),
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

const pct = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${fmt(x * 100, 1)} %`);

export function etaMarkdown(r: EtaBenchResult): string[] {
  const s = (x: number | null) => (x === null ? 'not reached' : `${fmt(x, 1)} s`);
  return [
    `# eta — ${r.at}`,
    '',
    `A red warning to ${fmt(r.options.people)} people (${fmt(r.attempts)} first contacts) at ` +
      `${r.options.smsPerSecond} SMS/s and ${r.options.callsPerSecond} calls/s, provider ` +
      `${r.options.provider}${r.timedOut ? `; **timed out after ${r.options.timeoutSeconds} s**` : ''}.`,
    '',
    '| measure | value | goal |',
    '|---|---:|---|',
    `| ETA recorded when the rows were written, from issue | ${s(r.etaSeconds)} | |`,
    `| last first contact handed to the provider, from issue | ${s(r.actualSeconds)} | |`,
    `| ETA error, (ETA − actual) / actual | ${pct(r.etaError)} | within ±10 % |`,
    ...r.rates.map(
      (c) =>
        `| ${c.channel}: ${fmt(c.sends)} sends at ${c.achievedPerSecond === null ? '—' : fmt(c.achievedPerSecond, 2)}/s ` +
        `against the limit ${c.limitPerSecond}/s | ${c.ratio === null ? '—' : fmt(c.ratio, 3)} | 0.95–1.05 |`,
    ),
  ];
}
