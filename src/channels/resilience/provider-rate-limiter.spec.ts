import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis } from 'rate-limiter-flexible';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database';
import { testRedisUrl } from '../../../test/helpers/redis';
import { rateLimitWaits } from '../../common/observability/metrics';
import { ChannelError } from '../channel.types';
import { closedPort } from '../testing/stub-provider';
import {
  ensureRateLimitTable,
  ProviderRateLimiter,
  type RateLimitStore,
} from './provider-rate-limiter';
import { ChannelRateLimits, type RateLimitRule } from './rate-limit-rules';

/**
 * Two limiter instances on one store stand for two worker processes. Assertions are on counts
 * (how many slots were granted in one window) and on lower bounds of elapsed time (a slot
 * cannot be granted before its window has passed) — never on how fast the machine is.
 */
interface Workers {
  a: ProviderRateLimiter;
  b: ProviderRateLimiter;
}

const LIMITS = new ChannelRateLimits({
  twilioCallsPerSecond: 1,
  twilioSmsPerSecond: 10,
  wecomPerMinute: 20,
  dingtalkPerMinute: 20,
  feishuPerMinute: 100,
  feishuPerSecond: 5,
  emailPerSecond: 20,
  broadcastPerSecond: 5,
});

type Store = 'redis' | 'postgres';

async function twoWorkers(store: Store): Promise<{ workers: Workers; close: () => Promise<void> }> {
  const keyPrefix = `t${randomBytes(4).toString('hex')}`;
  const options = { keyPrefix, insurance: false, limits: LIMITS };
  if (store === 'redis') {
    const clients = [
      new Redis(testRedisUrl(), { lazyConnect: true }),
      new Redis(testRedisUrl(), { lazyConnect: true }),
    ];
    await Promise.all(clients.map((c) => c.connect()));
    const [a, b] = clients.map(
      (client) => new ProviderRateLimiter({ kind: 'redis', client }, options),
    );
    return {
      workers: { a, b },
      close: async () => void (await Promise.all(clients.map((c) => c.quit()))),
    };
  }
  const db: TestDatabase = await createTestDatabase('ratelimit');
  const pools = [
    new Pool({ connectionString: db.url, max: 4 }),
    new Pool({ connectionString: db.url, max: 4 }),
  ];
  // Both workers start at once and both create the table.
  await Promise.all(pools.map((pool) => ensureRateLimitTable(pool)));
  const [a, b] = pools.map(
    (pool) => new ProviderRateLimiter({ kind: 'postgres', pool } satisfies RateLimitStore, options),
  );
  return {
    workers: { a, b },
    close: async () => {
      await Promise.all(pools.map((p) => p.end()));
      await db.drop();
    },
  };
}

/** `n` attempts on each worker at once that do not wait; how many got a slot. */
async function burst(
  w: Workers,
  key: string,
  rules: RateLimitRule[],
  n: number,
): Promise<{ granted: number; refused: ChannelError[] }> {
  const tries = [w.a, w.b].flatMap((limiter) =>
    Array.from({ length: n }, () => limiter.acquire(key, rules, { maxWaitMs: 0 })),
  );
  const results = await Promise.allSettled(tries);
  return {
    granted: results.filter((r) => r.status === 'fulfilled').length,
    refused: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ChannelError] : [])),
  };
}

describe.each<Store>(['redis', 'postgres'])(
  'ProviderRateLimiter shared by two workers (%s store)',
  (store) => {
    let w: Workers;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ workers: w, close } = await twoWorkers(store));
    });
    afterAll(() => close());

    it('grants no more than the limit of a window to both workers together', async () => {
      const { granted, refused } = await burst(
        w,
        'twilio:sms',
        [{ points: 5, windowMs: 60_000 }],
        12,
      );
      expect(granted).toBe(5);
      expect(refused).toHaveLength(19);
      for (const err of refused) {
        expect(err).toBeInstanceOf(ChannelError);
        expect(err).toMatchObject({ kind: 'rate_limited', code: 'local_rate_limit' });
        expect(err.retryAfterMs).toBeGreaterThan(0);
      }
    });

    it('a strict 20-a-minute robot gets one slot per 3-second window, however many workers ask', async () => {
      const { granted } = await burst(
        w,
        'dingtalk:grid-1',
        [{ points: 20, windowMs: 60_000, strict: true }],
        10,
      );
      expect(granted).toBe(1);
    });

    it('several rules hold together (Feishu: 3 per 2 s and 3 per 1 s after the strict split)', async () => {
      const { granted } = await burst(
        w,
        'feishu:f1',
        LIMITS.robot('feishu', { code: 'f1' }).rules,
        10,
      );
      expect(granted).toBe(3);
    });

    it('acquireRobot keys by robot code: another robot has its own budget', async () => {
      const first = await Promise.allSettled([
        w.a.acquireRobot('wecom', 'grid-2', 1, { maxWaitMs: 0 }),
        w.b.acquireRobot('wecom', 'grid-2', 1, { maxWaitMs: 0 }),
        w.b.acquireRobot('wecom', 'grid-3', 1, { maxWaitMs: 0 }),
      ]);
      // grid-2: one of the two workers gets the slot; grid-3 is another robot with its own.
      expect(first.slice(0, 2).filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(first[2].status).toBe('fulfilled');
    });

    it('waits instead of failing: 6 slots at 2 a second take at least two further windows', async () => {
      const rules = [{ points: 2, windowMs: 1000 }];
      const started = Date.now();
      const waits = await Promise.all(
        [w.a, w.b].flatMap((limiter) => [1, 2, 3].map(() => limiter.acquire('email', rules))),
      );
      const elapsed = Date.now() - started;
      expect(waits).toHaveLength(6);
      expect(waits.filter((ms) => ms === 0).length).toBeLessThanOrEqual(2); // only the first window's two
      expect(waits.filter((ms) => ms > 0).length).toBeGreaterThanOrEqual(4);
      expect(elapsed).toBeGreaterThanOrEqual(1_900); // the 5th and 6th slot exist only in the 3rd window
    });
  },
);

describe('ProviderRateLimiter when Redis is down', () => {
  it('falls back to counting in this process rather than failing the send', async () => {
    const port = await closedPort();
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => undefined);
    const limiter = new ProviderRateLimiter({ kind: 'redis', client });
    const rules = [{ points: 1, windowMs: 60_000 }];
    await expect(limiter.acquire('twilio:calls', rules)).resolves.toBe(0);
    await expect(limiter.acquire('twilio:calls', rules, { maxWaitMs: 0 })).rejects.toMatchObject({
      kind: 'rate_limited',
    });
    client.disconnect();
  });
});

describe('ensureRateLimitTable', () => {
  it('lets many processes create the table at the same moment (no "type already exists")', async () => {
    // Each round starts on a fresh database so every caller races the creation again.
    for (let round = 0; round < 3; round += 1) {
      const db = await createTestDatabase(`rltable${round}`);
      const pools = Array.from({ length: 8 }, () => new Pool({ connectionString: db.url, max: 1 }));
      try {
        await Promise.all(pools.map((pool) => pool.query('SELECT 1')));
        await expect(
          Promise.all(pools.map((pool) => ensureRateLimitTable(pool))),
        ).resolves.toHaveLength(8);
        const { rows } = await pools[0].query<{ n: number }>(
          `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'channel_rate_limits'`,
        );
        expect(rows[0].n).toBe(3);
      } finally {
        await Promise.all(pools.map((p) => p.end()));
        await db.drop();
      }
    }
  });
});

describe.each<Store>(['redis', 'postgres'])(
  'ProviderRateLimiter lanes: one provider budget, priority takers first (%s store)',
  (store) => {
    /** Two stores of one kind (two worker processes) and how to close them. */
    async function twoStores(): Promise<{ stores: RateLimitStore[]; close: () => Promise<void> }> {
      if (store === 'redis') {
        const clients = [
          new Redis(testRedisUrl(), { lazyConnect: true }),
          new Redis(testRedisUrl(), { lazyConnect: true }),
        ];
        await Promise.all(clients.map((c) => c.connect()));
        return {
          stores: clients.map((client) => ({ kind: 'redis', client })),
          close: async () => void (await Promise.all(clients.map((c) => c.quit()))),
        };
      }
      const db = await createTestDatabase('ratelanes');
      const pools = [
        new Pool({ connectionString: db.url, max: 4 }),
        new Pool({ connectionString: db.url, max: 4 }),
      ];
      await ensureRateLimitTable(pools[0]);
      return {
        stores: pools.map((pool) => ({ kind: 'postgres', pool })),
        close: async () => {
          await Promise.all(pools.map((p) => p.end()));
          await db.drop();
        },
      };
    }

    /**
     * Two workers on one key of one slot a second, the slot of this second taken by the second
     * worker: the first (a hazard report's notices) wakes last of the two when it waits (most
     * jitter), so only its lane can put it first; `priorityWaits` settles once it waits.
     */
    async function twoWorkersOneSlotTaken(stores: RateLimitStore[]) {
      const keyPrefix = `t${randomBytes(4).toString('hex')}`;
      let waiting!: () => void;
      const priorityWaits = new Promise<void>((resolve) => (waiting = resolve));
      const hazard = new ProviderRateLimiter(stores[0], {
        keyPrefix,
        insurance: false,
        random: () => 0.99,
        sleep: (ms) => {
          waiting();
          return new Promise((r) => setTimeout(r, ms));
        },
      });
      const fanout = new ProviderRateLimiter(stores[1], {
        keyPrefix,
        insurance: false,
        random: () => 0,
      });
      const rules = [{ points: 1, windowMs: 1000 }];
      await expect(fanout.acquire('twilio:sms', rules, { lane: 'normal' })).resolves.toBe(0);
      return { hazard, fanout, rules, priorityWaits };
    }

    it('a waiting priority taker (a hazard notice) gets the next slot before a normal one (a fan-out send) of another worker', async () => {
      const { stores, close } = await twoStores();
      try {
        const { hazard, fanout, rules, priorityWaits } = await twoWorkersOneSlotTaken(stores);
        const order: string[] = [];
        const notice = hazard
          .acquire('twilio:sms', rules, { lane: 'priority' })
          .then(() => order.push('notice'));
        await priorityWaits;
        const send = fanout
          .acquire('twilio:sms', rules, { lane: 'normal' })
          .then(() => order.push('send'));
        await Promise.all([notice, send]);
        expect(order).toEqual(['notice', 'send']);
      } finally {
        await close();
      }
    });

    it('two notices waiting in one worker both go before a send of another worker: the first one served does not lift the mark', async () => {
      const { stores, close } = await twoStores();
      try {
        const { hazard, fanout, rules, priorityWaits } = await twoWorkersOneSlotTaken(stores);
        const order: string[] = [];
        const notices = [1, 2].map((i) =>
          hazard
            .acquire('twilio:sms', rules, { lane: 'priority' })
            .then(() => order.push(`notice ${i}`)),
        );
        await priorityWaits;
        const send = fanout
          .acquire('twilio:sms', rules, { lane: 'normal' })
          .then(() => order.push('send'));
        await Promise.all([...notices, send]);
        expect(order).toEqual(['notice 1', 'notice 2', 'send']);
      } finally {
        await close();
      }
    });
  },
);

type OneProcessStore = 'memory' | 'redis' | 'postgres';

/** rateLimitWaits of the normal lane of `twilio:sms` so far. */
async function smsWaitsCounted(): Promise<number> {
  const { values } = await rateLimitWaits().get();
  return (
    values.find((v) => v.labels.key === 'twilio:sms' && v.labels.lane === 'normal')?.value ?? 0
  );
}

/**
 * Counts the store round trips of rate-limiter-flexible's limiters: for Redis and Postgres the
 * methods that each make one (`_upsert` behind consume, `_get`, `_delete`), for the memory store
 * its consume / get / delete. Spies only: every call still goes to the store.
 */
function countStoreCalls(store: OneProcessStore): {
  calls: () => { consume: number; get: number; delete: number };
  restore: () => void;
} {
  type Methods = Record<string, (...args: unknown[]) => unknown>;
  const [proto, names] =
    store === 'memory'
      ? [RateLimiterMemory.prototype as unknown as Methods, ['consume', 'get', 'delete']]
      : [
          (store === 'redis'
            ? RateLimiterRedis.prototype
            : RateLimiterPostgres.prototype) as unknown as Methods,
          ['_upsert', '_get', '_delete'],
        ];
  const spies = names.map((name) => jest.spyOn(proto, name));
  return {
    calls: () => ({
      consume: spies[0].mock.calls.length,
      get: spies[1].mock.calls.length,
      delete: spies[2].mock.calls.length,
    }),
    restore: () => spies.forEach((s) => s.mockRestore()),
  };
}

describe.each<OneProcessStore>(['memory', 'redis', 'postgres'])(
  'ProviderRateLimiter: concurrent takers of one key share their store round trips (%s store)',
  (store) => {
    let limiterStore: RateLimitStore;
    let closeStore: () => Promise<void>;
    let counter: ReturnType<typeof countStoreCalls>;

    beforeAll(async () => {
      if (store === 'memory') {
        limiterStore = { kind: 'memory' };
        closeStore = () => Promise.resolve();
      } else if (store === 'redis') {
        const client = new Redis(testRedisUrl(), { lazyConnect: true });
        await client.connect();
        limiterStore = { kind: 'redis', client };
        closeStore = async () => void (await client.quit());
      } else {
        const db = await createTestDatabase('rategroups');
        const pool = new Pool({ connectionString: db.url, max: 4 });
        await ensureRateLimitTable(pool);
        limiterStore = { kind: 'postgres', pool };
        closeStore = async () => {
          await pool.end();
          await db.drop();
        };
      }
    });
    afterAll(() => closeStore());
    beforeEach(() => (counter = countStoreCalls(store)));
    afterEach(() => counter.restore());

    const limiter = () =>
      new ProviderRateLimiter(limiterStore, {
        keyPrefix: `t${randomBytes(4).toString('hex')}`,
        insurance: false,
      });

    it('50 sends at once with room for all: one priority check and one consume, not 50 of each', async () => {
      const rl = limiter();
      const rules = [{ points: 1000, windowMs: 60_000 }];
      const waits = await Promise.all(
        Array.from({ length: 50 }, () =>
          rl.acquire('twilio:sms', rules, { maxWaitMs: 2000, lane: 'normal' }),
        ),
      );
      expect(waits).toEqual(Array.from({ length: 50 }, () => 0));
      const calls = counter.calls();
      expect(calls.consume + calls.get + calls.delete).toBeLessThanOrEqual(4); // before: 100
      expect(calls.consume).toBe(1);
    });

    it('25 senders at 10 a second: exactly 10 in each window, first come first, a few round trips a window', async () => {
      const rl = limiter();
      const rules = [{ points: 10, windowMs: 1000 }];
      const waitsBefore = await smsWaitsCounted();
      const started = Date.now();
      const grants: { i: number; waited: number; at: number }[] = [];
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          rl.acquire('twilio:sms', rules, { lane: 'normal' }).then((waited) => {
            grants.push({ i, waited, at: Date.now() - started });
          }),
        ),
      );
      expect(grants).toHaveLength(25);
      // The first window: exactly ten, without waiting, before any other.
      const first = grants.filter((g) => g.waited === 0);
      expect(first.map((g) => g.i).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(grants.slice(0, 10).every((g) => g.waited === 0)).toBe(true);
      // The second window's ten waited for it, the last five for the third.
      const second = grants.filter((g) => g.i >= 10 && g.i < 20);
      const third = grants.filter((g) => g.i >= 20);
      for (const g of second) expect(g.waited).toBeGreaterThanOrEqual(900);
      for (const g of third) expect(g.waited).toBeGreaterThanOrEqual(1_900);
      expect(Math.max(...grants.map((g) => g.at))).toBeGreaterThanOrEqual(1_900);
      // Each taker that waited is counted once, as before.
      expect((await smsWaitsCounted()) - waitsBefore).toBe(15);
      // One take per window (and a retry or two when a window is not quite over when polled);
      // before, every taker asked for itself and again after every pause: 45 or more.
      const calls = counter.calls();
      expect(calls.consume).toBeLessThanOrEqual(8);
      expect(calls.get).toBeLessThanOrEqual(8);
    });

    it('a take partly refused gives exactly what fitted, in arrival order; the rest wait for the next window or give up past their own maxWaitMs', async () => {
      const rl = limiter();
      const rules = [{ points: 5, windowMs: 1000 }];
      await expect(rl.acquire('twilio:calls', rules, { count: 3 })).resolves.toBe(0);
      const before = counter.calls().consume;
      const results = await Promise.allSettled(
        [5000, 5000, 0, 5000, 100].map((maxWaitMs) =>
          rl.acquire('twilio:calls', rules, { maxWaitMs, lane: 'normal' }),
        ),
      );
      const values = results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason));
      // Two slots were left in the window: the first two takers get them at once.
      expect(values.slice(0, 2)).toEqual([0, 0]);
      // The others found none; those that may not wait a window give up, with when to retry.
      for (const err of [values[2], values[4]]) {
        expect(err).toBeInstanceOf(ChannelError);
        expect(err).toMatchObject({ kind: 'rate_limited', code: 'local_rate_limit' });
        expect((err as ChannelError).retryAfterMs).toBeGreaterThan(100);
      }
      // The fourth is served in the next window.
      expect(values[3]).toBeGreaterThanOrEqual(900);
      // One consume for the five takers, one in the next window for the one left.
      expect(counter.calls().consume - before).toBeLessThanOrEqual(3);
      // The store holds the limit: that next window has 4 of its 5 slots left.
      const next = await Promise.allSettled(
        Array.from({ length: 6 }, () => rl.acquire('twilio:calls', rules, { maxWaitMs: 0 })),
      );
      expect(next.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    });

    it('each taker keeps its count: a taker of 2 with one slot left takes it and waits for the other', async () => {
      const rl = limiter();
      const rules = [{ points: 4, windowMs: 1000 }];
      const [a, b] = await Promise.all([
        rl.acquire('wecom:r1', rules, { count: 3 }),
        rl.acquire('wecom:r1', rules, { count: 2 }),
      ]);
      expect(a).toBe(0);
      expect(b).toBeGreaterThanOrEqual(900);
      // The next window holds b's second slot: three are left.
      const next = await Promise.allSettled(
        Array.from({ length: 5 }, () => rl.acquire('wecom:r1', rules, { maxWaitMs: 0 })),
      );
      expect(next.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    });

    it('several rules: the fewest slots any rule has, with one read and one consume per rule', async () => {
      const rl = limiter();
      // 4 per second and 6 per minute: the minute's rule leaves 2 after the first second.
      const rules = [
        { points: 4, windowMs: 1000 },
        { points: 6, windowMs: 60_000 },
      ];
      const first = await Promise.allSettled(
        Array.from({ length: 10 }, () => rl.acquire('feishu:f2', rules, { maxWaitMs: 0 })),
      );
      expect(first.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
      const calls = counter.calls();
      expect(calls.get).toBeLessThanOrEqual(2); // before: 20
      expect(calls.consume).toBeLessThanOrEqual(2); // before: 8 and more
      const second = await Promise.allSettled(
        Array.from({ length: 10 }, () => rl.acquire('feishu:f2', rules, { maxWaitMs: 2000 })),
      );
      expect(second.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      for (const r of second.filter((s) => s.status === 'rejected')) {
        expect(r.reason).toMatchObject({ kind: 'rate_limited', code: 'local_rate_limit' });
      }
    });
  },
);
