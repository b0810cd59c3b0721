import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import type { RecipientContact } from '../../common/domain/targeting.types';
import { alternativesFor, type PlannedAttempt } from '../chain/contact-plan';

/** "At most `max` messages (or calls) to one number in any `seconds`". */
export interface NumberRule {
  max: number;
  seconds: number;
}

export type NumberChannel = 'sms' | 'voice';

/** A limit whose window is at most this long is waited for; a longer one moves the chain on. */
export const WAIT_AT_MOST_SECONDS = 300;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Parses a list of carrier limits per called number: `1/1m,5/1h,20/1d` (1 a minute, 5 an hour,
 * 20 a day), or `off`. Throws with the offending part.
 */
export function parseNumberRules(raw: string): NumberRule[] {
  const text = raw.trim();
  if (text === '' || text === 'off') return [];
  return text.split(',').map((part) => {
    const m = /^\s*(\d+)\s*\/\s*(\d*)\s*([smhd])\s*$/.exec(part);
    if (!m || Number(m[1]) < 1) {
      throw new Error(
        `"${part.trim()}" is not a limit such as 5/1h (count / window in s, m, h or d)`,
      );
    }
    return { max: Number(m[1]), seconds: Number(m[2] || 1) * UNIT_SECONDS[m[3]] };
  });
}

/** Hours `22-7` (night from 22:00 to 07:00), in China Standard Time (UTC+8, no daylight saving). */
export function parseNightHours(raw: string): { from: number; to: number } {
  const m = /^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$/.exec(raw);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 23) {
    throw new Error(`"${raw}" is not a range of hours such as 22-7`);
  }
  return { from: Number(m[1]), to: Number(m[2]) };
}

export function isNight(at: Date, night: { from: number; to: number }): boolean {
  const hour = (at.getUTCHours() + 8) % 24;
  return night.from <= night.to
    ? hour >= night.from && hour < night.to
    : hour >= night.from || hour < night.to;
}

export type NumberVerdict =
  | { kind: 'ok' }
  /** A short window is full: send when it frees (the attempt waits; no try spent). */
  | { kind: 'wait'; ms: number }
  /** A long window is full: this contact point cannot be used now; the chain moves on. */
  | { kind: 'refused'; rule: NumberRule; reason: string };

/** Attempts of one person about to be planned, and when they would go out. */
export interface PlanRequest {
  /** The person's contact points, in their own order. */
  contacts: RecipientContact[];
  planned: PlannedAttempt[];
  at: Date;
}

/** A planned SMS or call a carrier limit would block, what stands in for it, and why. */
export interface BlockedAttempt {
  attempt: PlannedAttempt;
  rule: NumberRule;
  replacedBy?: PlannedAttempt;
  /** Chinese and English, as recorded on the attempt. */
  reason: string;
}

export interface PlanResult {
  /** What to send: the planned attempts, each blocked one replaced when something fits. */
  planned: PlannedAttempt[];
  blocked: BlockedAttempt[];
}

const CHANNEL_NAME = {
  sms: { zh: '短信', en: 'an SMS' },
  voice: { zh: '语音电话', en: 'a call' },
  email: { zh: '电子邮件', en: 'an e-mail' },
} as const;

const KIND_NAME: Record<string, { zh: string; en: string }> = {
  mobile: { zh: '手机', en: 'mobile' },
  landline: { zh: '固定电话', en: 'landline' },
  satellite: { zh: '卫星电话', en: 'satellite phone' },
};

/** The reason recorded on a planned attempt a carrier limit blocks (Chinese, then English). */
export function plannedLimitReason(rule: NumberRule, replacedBy?: PlannedAttempt): string {
  const d = describe(rule);
  if (!replacedBy)
    return (
      `计划时该号码已达运营商上限（${d.zh}），无其他可用联系方式，本次不发送，叫应链继续下一步 ` +
      `carrier limit for this number reached at planning (${d.en}); no other contact point: not sent, the chain goes on`
    );
  const via = CHANNEL_NAME[replacedBy.channel];
  const kind = KIND_NAME[replacedBy.contactKind] ?? {
    zh: replacedBy.contactKind,
    en: replacedBy.contactKind,
  };
  return (
    `计划时该号码已达运营商上限（${d.zh}），改为${via.zh}（${kind.zh}） ` +
    `carrier limit for this number reached at planning (${d.en}); ${via.en} to the ${kind.en} instead`
  );
}

interface Check {
  attemptId: string;
  channel: NumberChannel;
  address: string;
}

/** A window the send-time check does not wait for. */
const isLong = (r: NumberRule) => r.seconds > WAIT_AT_MOST_SECONDS;

const describe = (r: NumberRule) => {
  const [n, unit, zh] =
    r.seconds % 86_400 === 0
      ? [r.seconds / 86_400, 'd', '天']
      : r.seconds % 3600 === 0
        ? [r.seconds / 3600, 'h', '小时']
        : r.seconds % 60 === 0
          ? [r.seconds / 60, 'min', '分钟']
          : [r.seconds, 's', '秒'];
  return {
    zh: `每${n === 1 ? '' : n}${zh}${r.max}次`,
    en: `${r.max} per ${n === 1 ? '' : n}${unit}`,
  };
};

/**
 * Carriers cap the calls and SMS one number receives (e.g. 1 a minute, 5 an hour, 20 a day, fewer
 * at night); past the cap they drop or block what is sent. Before each SMS or call the gateway
 * counts what went to the number (sent, or being sent by another worker) in each window of the
 * channel's rules (CARRIER_LIMITS_SMS / CARRIER_LIMITS_VOICE, the _NIGHT ones between
 * CARRIER_NIGHT_HOURS). A full window of up to five minutes is waited for; a longer one refuses
 * the attempt with its reason, and the chain moves on to the person's next contact point (then
 * to their superior), instead of sending into a block. Checks running side by side share one
 * statement and are granted in turn, so two sends to one number in one batch count each other.
 */
@Injectable()
export class NumberLimits {
  private readonly rules: Record<'day' | 'night', Record<NumberChannel, NumberRule[]>>;
  private readonly night: { from: number; to: number };
  private readonly loader: DataLoader<Check, NumberVerdict>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    config: ConfigService,
  ) {
    const get = (name: string, fallback: string) => String(config.get(name) ?? fallback);
    this.rules = {
      day: {
        sms: parseNumberRules(get('CARRIER_LIMITS_SMS', 'off')),
        voice: parseNumberRules(get('CARRIER_LIMITS_VOICE', 'off')),
      },
      night: {
        sms: parseNumberRules(get('CARRIER_LIMITS_SMS_NIGHT', get('CARRIER_LIMITS_SMS', 'off'))),
        voice: parseNumberRules(
          get('CARRIER_LIMITS_VOICE_NIGHT', get('CARRIER_LIMITS_VOICE', 'off')),
        ),
      },
    };
    this.night = parseNightHours(get('CARRIER_NIGHT_HOURS', '22-7'));
    this.loader = new DataLoader((checks) => this.judge(checks), {
      cache: false,
      maxBatchSize: 500,
      batchScheduleFn: (run) => setTimeout(run, 2),
    });
  }

  /** The rules in force now for a channel. */
  rulesNow(channel: NumberChannel, at = new Date()): NumberRule[] {
    return this.rules[isNight(at, this.night) ? 'night' : 'day'][channel];
  }

  /** May this attempt go to its number now? */
  check(attemptId: string, channel: NumberChannel, address: string): Promise<NumberVerdict> {
    if (!this.rulesNow(channel).length) return Promise.resolve({ kind: 'ok' });
    return this.loader.load({ attemptId, channel, address });
  }

  /**
   * The planner's side of the limits: of planned SMS and calls (one request per person, with the
   * time they would go out), those to a number whose long window (over five minutes) will be full
   * at that time are replaced by the person's next contact point on the same channel, else by the
   * other channel, else dropped; each with its reason. One statement reads what went to every
   * number of the batch (sent, being sent, or queued); planned attempts count against the ones
   * after them. A short window is left to the send-time check, which waits for it.
   */
  async plan(requests: PlanRequest[]): Promise<PlanResult[]> {
    const asIs = () => requests.map((r) => ({ planned: r.planned, blocked: [] }));
    const relevant = requests.some((r) =>
      r.planned.some((p) => p.channel !== 'email' && this.rulesNow(p.channel, r.at).some(isLong)),
    );
    if (!relevant) return asIs();
    const addresses = new Set<string>();
    for (const r of requests) for (const c of r.contacts) addresses.add(c.value);
    for (const r of requests) for (const p of r.planned) addresses.add(p.address);
    const latest = Math.max(...requests.map((r) => r.at.getTime()));
    const longest = Math.max(
      ...(['sms', 'voice'] as const).flatMap((c) =>
        [...this.rules.day[c], ...this.rules.night[c]].map((r) => r.seconds),
      ),
    );
    const since = new Date(Math.min(Date.now(), latest) - longest * 1000);
    // Queued sends count as going out now: most of them will.
    const recent = await this.db.query<{ address: string; channel: NumberChannel; at: Date }[]>(
      `SELECT address, CASE WHEN channel = 'voice' THEN 'voice' ELSE 'sms' END AS channel,
              coalesce(sent_at, claimed_at, queued_at) AS at
         FROM contact_attempts
        WHERE address = ANY($1::text[]) AND channel IN ('sms', 'manual', 'voice')
          AND (sent_at > $2 OR (sent_at IS NULL AND status IN ('queued', 'sending')))`,
      [[...addresses], since],
    );
    const seen = new Map<string, number[]>();
    const key = (channel: NumberChannel, address: string) => `${channel}:${address}`;
    const timesOf = (channel: NumberChannel, address: string) => {
      const k = key(channel, address);
      return seen.get(k) ?? seen.set(k, []).get(k)!;
    };
    for (const r of recent) {
      const at = new Date(r.at).getTime();
      timesOf(r.channel, r.address).push(Math.min(at, Date.now()));
    }
    const full = (p: PlannedAttempt, at: number): NumberRule | undefined => {
      if (p.channel === 'email') return undefined;
      const rules = this.rulesNow(p.channel, new Date(at)).filter(isLong);
      const v = this.verdict(rules, timesOf(p.channel, p.address), at);
      return v.kind === 'refused' ? v.rule : undefined;
    };
    return requests.map((r) => {
      const at = r.at.getTime();
      const taken = new Set(r.planned.map((p) => `${p.channel}:${p.address}`));
      const planned: PlannedAttempt[] = [];
      const blocked: BlockedAttempt[] = [];
      for (const p of r.planned) {
        const rule = full(p, at);
        if (!rule) {
          planned.push(p);
          if (p.channel !== 'email') timesOf(p.channel, p.address).push(at);
          continue;
        }
        const replacedBy = alternativesFor(p, r.contacts, taken).find((alt) => !full(alt, at));
        if (replacedBy) {
          taken.add(`${replacedBy.channel}:${replacedBy.address}`);
          planned.push(replacedBy);
          if (replacedBy.channel !== 'email')
            timesOf(replacedBy.channel, replacedBy.address).push(at);
        }
        blocked.push({
          attempt: p,
          rule,
          replacedBy,
          reason: plannedLimitReason(rule, replacedBy),
        });
      }
      return { planned, blocked };
    });
  }

  private async judge(checks: readonly Check[]): Promise<NumberVerdict[]> {
    const now = new Date();
    const longest = Math.max(
      ...(['sms', 'voice'] as const).flatMap((c) => this.rulesNow(c, now).map((r) => r.seconds)),
    );
    // Every send to these numbers within the longest window: accepted by the provider, or
    // claimed by another worker and not ended (the checks' own attempts left out).
    const recent = await this.db.query<{ address: string; channel: NumberChannel; at: Date }[]>(
      `SELECT address, CASE WHEN channel = 'voice' THEN 'voice' ELSE 'sms' END AS channel,
              coalesce(sent_at, claimed_at) AS at
         FROM contact_attempts
        WHERE address = ANY($1::text[]) AND channel IN ('sms', 'manual', 'voice')
          AND NOT (id = ANY($2::uuid[]))
          AND (sent_at > now() - make_interval(secs => $3)
               OR (status = 'sending' AND sent_at IS NULL AND claimed_at > now() - make_interval(secs => $3)))`,
      [[...new Set(checks.map((c) => c.address))], checks.map((c) => c.attemptId), longest],
    );
    const seen = new Map<string, number[]>();
    const key = (channel: NumberChannel, address: string) => `${channel}:${address}`;
    for (const r of recent) {
      const k = key(r.channel, r.address);
      (seen.get(k) ?? seen.set(k, []).get(k)!).push(new Date(r.at).getTime());
    }
    // In turn: a send granted here counts against the next one to the same number.
    return checks.map((c) => {
      const times = seen.get(key(c.channel, c.address)) ?? [];
      const verdict = this.verdict(this.rulesNow(c.channel, now), times, now.getTime());
      if (verdict.kind === 'ok') {
        times.push(now.getTime());
        seen.set(key(c.channel, c.address), times);
      }
      return verdict;
    });
  }

  private verdict(rules: NumberRule[], times: number[], now: number): NumberVerdict {
    let wait = 0;
    for (const rule of rules) {
      const inWindow = times.filter((t) => t > now - rule.seconds * 1000).sort((a, b) => a - b);
      if (inWindow.length < rule.max) continue;
      if (rule.seconds > WAIT_AT_MOST_SECONDS) {
        const d = describe(rule);
        return {
          kind: 'refused',
          rule,
          reason: `该号码已达运营商上限（${d.zh}），改用下一联系方式 carrier limit for this number reached (${d.en}); next contact point`,
        };
      }
      // Free when the oldest of the last `max` sends leaves the window.
      const oldest = inWindow[inWindow.length - rule.max];
      wait = Math.max(wait, oldest + rule.seconds * 1000 - now + 50);
    }
    return wait > 0 ? { kind: 'wait', ms: wait } : { kind: 'ok' };
  }
}
