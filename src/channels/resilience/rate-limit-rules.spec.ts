import type { ChannelError } from '../channel.types';
import { ProviderRateLimiter } from './provider-rate-limiter';
import {
  ChannelRateLimits,
  storeWindowFor,
  worstCaseInWindow,
  type RateLimitRule,
} from './rate-limit-rules';

const DEFAULT_LIMITS = {
  twilioCallsPerSecond: 1,
  twilioSmsPerSecond: 10,
  wecomPerMinute: 20,
  dingtalkPerMinute: 20,
  feishuPerMinute: 100,
  feishuPerSecond: 5,
  emailPerSecond: 20,
  broadcastPerSecond: 5,
};

describe('storeWindowFor', () => {
  it('keeps pacing rules as they are', () => {
    expect(storeWindowFor({ points: 10, windowMs: 1000 })).toEqual({ points: 10, durationSec: 1 });
    expect(storeWindowFor({ points: 20, windowMs: 60_000 })).toEqual({
      points: 20,
      durationSec: 60,
    });
  });

  it('turns strict rules into windows that can never exceed the rule in any interval', () => {
    expect(storeWindowFor({ points: 20, windowMs: 60_000, strict: true })).toEqual({
      points: 1,
      durationSec: 3,
    });
    expect(storeWindowFor({ points: 100, windowMs: 60_000, strict: true })).toEqual({
      points: 3,
      durationSec: 2,
    });
    expect(storeWindowFor({ points: 5, windowMs: 1000, strict: true })).toEqual({
      points: 3,
      durationSec: 1,
    });
    expect(storeWindowFor({ points: 1, windowMs: 1000, strict: true })).toEqual({
      points: 1,
      durationSec: 1,
    });
    for (let n = 1; n <= 120; n++) {
      for (const w of [1, 2, 5, 10, 30, 60, 120]) {
        const win = storeWindowFor({ points: n, windowMs: w * 1000, strict: true });
        expect(win.points).toBeGreaterThanOrEqual(1);
        expect(worstCaseInWindow(win, w * 1000)).toBeLessThanOrEqual(n);
      }
    }
  });

  it('refuses rules the stores cannot count', () => {
    expect(() => storeWindowFor({ points: 0, windowMs: 1000 })).toThrow('positive integer');
    expect(() => storeWindowFor({ points: 5, windowMs: 500 })).toThrow('whole seconds');
  });
});

describe('ChannelRateLimits', () => {
  const limits = new ChannelRateLimits(DEFAULT_LIMITS);

  it('keys per provider and per robot', () => {
    expect(limits.sms()).toEqual({ key: 'twilio:sms', rules: [{ points: 10, windowMs: 1000 }] });
    expect(limits.voice().key).toBe('twilio:calls');
    expect(limits.robot('wecom', { code: 'grid-7' })).toEqual({
      key: 'wecom:grid-7',
      rules: [{ points: 20, windowMs: 60_000, strict: true }],
    });
    expect(limits.robot('feishu', { code: 'f1' }).rules).toHaveLength(2);
    const byUrl = limits.robot('dingtalk', {
      webhookUrl: 'https://oapi.dingtalk.com/robot/send?access_token=SECRET',
    });
    expect(byUrl.key).toMatch(/^dingtalk:url-[0-9a-f]{16}$/);
    expect(byUrl.key).not.toContain('SECRET');
  });
});

/** Grants in the busiest interval of `windowMs` (half-open, as the vendors count). */
function busiest(grants: number[], windowMs: number): number {
  const sorted = [...grants].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

/** A deterministic pseudo-random sequence (LCG). */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) % 2 ** 32;
    return s / 2 ** 32;
  };
}

describe('ProviderRateLimiter on a fake clock (memory store)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  /** Workers asking at random moments over `spreadMs`; returns each grant's (fake) time. */
  async function simulate(
    rules: RateLimitRule[],
    requests: number,
    spreadMs: number,
  ): Promise<number[]> {
    const limiter = new ProviderRateLimiter({ kind: 'memory' }, { random: () => 0 });
    const rnd = seeded(42);
    const grants: number[] = [];
    let pending = requests;
    for (let i = 0; i < requests; i++) {
      setTimeout(
        () => {
          void limiter.acquire('robot:r1', rules).then(() => {
            grants.push(Date.now());
            pending--;
          });
        },
        Math.floor(rnd() * spreadMs),
      );
    }
    while (pending > 0) await jest.advanceTimersByTimeAsync(50);
    return grants;
  }

  it('WeCom / DingTalk 20 a minute: never 21 in any minute, whatever the arrivals', async () => {
    const grants = await simulate([{ points: 20, windowMs: 60_000, strict: true }], 70, 120_000);
    expect(grants).toHaveLength(70);
    expect(busiest(grants, 60_000)).toBeLessThanOrEqual(20);
  });

  it('Feishu 100 a minute and 5 a second: both hold', async () => {
    const grants = await simulate(
      [
        { points: 100, windowMs: 60_000, strict: true },
        { points: 5, windowMs: 1000, strict: true },
      ],
      250,
      30_000,
    );
    expect(grants).toHaveLength(250);
    expect(busiest(grants, 60_000)).toBeLessThanOrEqual(100);
    expect(busiest(grants, 1000)).toBeLessThanOrEqual(5);
  });

  it('a pacing rule averages its rate (and may burst across a window boundary)', async () => {
    const grants = await simulate([{ points: 10, windowMs: 1000 }], 100, 1);
    expect(grants).toHaveLength(100);
    expect(Math.max(...grants)).toBeGreaterThanOrEqual(9_000); // 100 at 10/s: at least 9 s
    expect(busiest(grants, 1000)).toBeLessThanOrEqual(20);
  });

  /**
   * `senders` concurrent sends in a loop for `ms`, as the SMS / voice senders take the limit:
   * at most 2 s of waiting, else the job comes back after the retry hint (at most 1 s); a send
   * takes 80 ms. Returns each grant's (fake) time.
   */
  async function fanOut(perSecond: number, senders: number, ms: number): Promise<number[]> {
    const limiter = new ProviderRateLimiter({ kind: 'memory' }, { random: seeded(7) });
    const rules = [{ points: perSecond, windowMs: 1000 }];
    const grants: number[] = [];
    const pause = (delay: number) => new Promise<void>((r) => setTimeout(r, delay));
    const start = Date.now();
    let running = senders;
    for (let i = 0; i < senders; i++) {
      void (async () => {
        while (Date.now() - start < ms) {
          try {
            await limiter.acquire('twilio:sms', rules, { maxWaitMs: 2000, lane: 'normal' });
            grants.push(Date.now() - start);
            await pause(80);
          } catch (err) {
            await pause(Math.min(Math.max((err as ChannelError).retryAfterMs ?? 0, 50), 1000));
          }
        }
        running--;
      })();
    }
    while (running > 0) await jest.advanceTimersByTimeAsync(50);
    return grants.filter((at) => at < ms);
  }

  it('50 concurrent senders keep 10 SMS a second and 1 call a second at the limit (within 5 %)', async () => {
    const sms = await fanOut(10, 50, 30_000);
    expect(sms.length).toBeGreaterThanOrEqual(0.95 * 10 * 30);
    expect(sms.length).toBeLessThanOrEqual(10 * 30);
    expect(busiest(sms, 1000)).toBeLessThanOrEqual(20);
    const calls = await fanOut(1, 50, 30_000);
    expect(calls.length).toBeGreaterThanOrEqual(0.95 * 30);
    expect(calls.length).toBeLessThanOrEqual(30);
  });

  it('returns the wait it imposed, and gives up past maxWaitMs', async () => {
    const limiter = new ProviderRateLimiter({ kind: 'memory' }, { random: () => 0 });
    const rule = [{ points: 1, windowMs: 1000 }];
    await expect(limiter.acquire('k', rule)).resolves.toBe(0);
    const second = limiter.acquire('k', rule);
    await jest.advanceTimersByTimeAsync(1_100);
    await expect(second).resolves.toBeGreaterThanOrEqual(900);
    await expect(limiter.acquire('k', rule, { maxWaitMs: 100 })).rejects.toMatchObject({
      kind: 'rate_limited',
      code: 'local_rate_limit',
    });
  });
});
