import { createHash } from 'node:crypto';
import type { RobotPlatform } from '../../common/domain/directory.types';
import type { ChannelsConfig } from '../channels.config';

/** "At most `points` requests per `windowMs`". */
export interface RateLimitRule {
  points: number;
  /** Whole seconds (the Redis store counts in seconds). */
  windowMs: number;
  /**
   * The provider counts in a sliding window and punishes excess (WeCom 45009, DingTalk blocks the
   * robot for 10 minutes, Feishu 11232): never more than `points` in ANY `windowMs`, at some cost
   * in throughput (see storeWindowFor). Otherwise the rule is a pacing target — `points` per
   * window on average, up to twice that across a window boundary — fine for providers that queue
   * what comes too fast (Twilio, SMTP, the broadcast platform).
   */
  strict?: boolean;
}

/** A fixed window as rate-limiter-flexible counts it: `points` per `durationSec`. */
export interface StoreWindow {
  points: number;
  durationSec: number;
}

function assertRule(rule: RateLimitRule): void {
  if (!Number.isInteger(rule.points) || rule.points < 1) {
    throw new Error(`rate limit points must be a positive integer (got ${rule.points})`);
  }
  if (!Number.isInteger(rule.windowMs) || rule.windowMs < 1000 || rule.windowMs % 1000 !== 0) {
    throw new Error(`rate limit window must be whole seconds (got ${rule.windowMs} ms)`);
  }
}

/**
 * The fixed window that enforces a rule in rate-limiter-flexible, whose windows start at the
 * first request after the previous one expired (they are not aligned to the clock).
 *
 * Non-strict: `points` per `windowMs`.
 *
 * Strict: windows of `d` whole seconds holding `p` requests each. In any interval of W = windowMs
 * at most k = ⌈W/d⌉ windows start, each with at most p requests, plus at most p − 1 from the
 * window that started just before the interval (its first request, which started it, lies
 * before). So at most p·k + p − 1 requests: choosing p = ⌊(N + 1)/(k + 1)⌋ keeps that ≤ N. Of all
 * d from 1 s to W, the one with the highest rate p/d is taken (ties: the shorter window).
 * WeCom/DingTalk 20/min → 1 per 3 s (exactly 20/min); Feishu 100/min → 3 per 2 s (90/min);
 * Feishu 5/s → 3 per s.
 */
export function storeWindowFor(rule: RateLimitRule): StoreWindow {
  assertRule(rule);
  const windowSec = rule.windowMs / 1000;
  if (!rule.strict) return { points: rule.points, durationSec: windowSec };
  let best: StoreWindow = { points: Math.floor((rule.points + 1) / 2), durationSec: windowSec };
  for (let d = 1; d <= windowSec; d++) {
    const k = Math.ceil(windowSec / d);
    const p = Math.floor((rule.points + 1) / (k + 1));
    if (p < 1) continue;
    if (p / d > best.points / best.durationSec) best = { points: p, durationSec: d };
  }
  return best;
}

/** The most requests a store window can let through in any interval of `windowMs`. */
export function worstCaseInWindow(win: StoreWindow, windowMs: number): number {
  const k = Math.ceil(windowMs / 1000 / win.durationSec);
  return win.points * k + win.points - 1;
}

/** A rate-limited resource: the limiter key and its rules. */
export interface RateLimitedResource {
  /** e.g. `twilio:sms`, `wecom:<robotCode>`. */
  key: string;
  rules: RateLimitRule[];
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** The limits of config (TWILIO_SMS_PER_SECOND…), per provider and per robot. */
export class ChannelRateLimits {
  constructor(private readonly limits: ChannelsConfig['rateLimits']) {}

  sms(): RateLimitedResource {
    return {
      key: 'twilio:sms',
      rules: [{ points: this.limits.twilioSmsPerSecond, windowMs: SECOND }],
    };
  }

  voice(): RateLimitedResource {
    return {
      key: 'twilio:calls',
      rules: [{ points: this.limits.twilioCallsPerSecond, windowMs: SECOND }],
    };
  }

  email(): RateLimitedResource {
    return { key: 'email', rules: [{ points: this.limits.emailPerSecond, windowMs: SECOND }] };
  }

  broadcast(): RateLimitedResource {
    return {
      key: 'broadcast',
      rules: [{ points: this.limits.broadcastPerSecond, windowMs: SECOND }],
    };
  }

  /**
   * One robot's limits, keyed `wecom:<robotCode>`. Without a code the key is a hash of the webhook
   * URL (never the URL itself: it holds the robot's key).
   */
  robot(
    platform: RobotPlatform,
    robot: { code?: string; webhookUrl?: string },
  ): RateLimitedResource {
    const id =
      robot.code ??
      (robot.webhookUrl
        ? `url-${createHash('sha256').update(robot.webhookUrl).digest('hex').slice(0, 16)}`
        : undefined);
    if (!id) throw new Error('a robot rate limit needs the robot code or its webhook URL');
    const key = `${platform}:${id}`;
    switch (platform) {
      case 'wecom':
        return {
          key,
          rules: [{ points: this.limits.wecomPerMinute, windowMs: MINUTE, strict: true }],
        };
      case 'dingtalk':
        return {
          key,
          rules: [{ points: this.limits.dingtalkPerMinute, windowMs: MINUTE, strict: true }],
        };
      case 'feishu':
        return {
          key,
          rules: [
            { points: this.limits.feishuPerMinute, windowMs: MINUTE, strict: true },
            { points: this.limits.feishuPerSecond, windowMs: SECOND, strict: true },
          ],
        };
    }
  }
}
