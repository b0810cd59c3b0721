import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { RobotPlatform } from '../../common/domain/directory.types';
import { rateLimitWaits } from '../../common/observability/metrics';
import { ChannelError } from '../channel.types';
import {
  storeWindowFor,
  type ChannelRateLimits,
  type RateLimitedResource,
  type RateLimitRule,
  type StoreWindow,
} from './rate-limit-rules';

/**
 * Where the counters live, shared by every worker process:
 * - `redis`: the queue's Redis (RateLimiterRedis, one Lua script per take);
 * - `postgres`: the gateway's database when there is no Redis (the embedded default);
 *   RateLimiterPostgres, table `channel_rate_limits` (ensureRateLimitTable creates it);
 * - `memory`: this process only (tests, single-process tools).
 */
export type RateLimitStore =
  | { kind: 'redis'; client: Redis }
  | { kind: 'postgres'; pool: Pool; tableName?: string }
  | { kind: 'memory' };

export const RATE_LIMIT_TABLE = 'channel_rate_limits';

export interface ProviderRateLimiterOptions {
  /** The configured limits, for acquireRobot. */
  limits?: ChannelRateLimits;
  /** Default `maxWaitMs` of acquireRobot (default: wait as long as it takes). */
  robotMaxWaitMs?: number;
  /** Prefix of every counter key (default `wg:rl`). */
  keyPrefix?: string;
  /**
   * When the store fails (Redis down), count in this process instead of failing the send
   * (default true): a warning going out unthrottled beats one not going out.
   */
  insurance?: boolean;
  /** For tests: how to wait. */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: 0 ≤ x < 1, spreads the wake-ups of waiting workers. */
  random?: () => number;
}

export interface AcquireOptions {
  /** Slots to take (a send that makes two requests takes two). Default 1. */
  count?: number;
  /**
   * Give up when the wait would exceed this: ChannelError('rate_limited', 'local_rate_limit')
   * with `retryAfterMs`, so the job can be re-queued instead of holding a worker. Default: wait.
   */
  maxWaitMs?: number;
  /**
   * Lanes of one key (one provider budget shared by several kinds of sends). While a `priority`
   * taker waits for a slot, `normal` takers of the same key leave every slot to it; without a
   * lane (robots) nothing is checked. Hazard-report notices take the priority lane of the
   * Twilio keys, warning sends the normal one: a report's notice never waits behind a fan-out.
   */
  lane?: 'priority' | 'normal';
}

/** A waiting priority taker's mark on its key lasts this long unless renewed (each poll). */
const PRIORITY_MARK_SEC = 2;
/** A normal taker that yields to a priority one looks again after this. */
const YIELD_MS = 50;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Up to this much is added to each wait so that waiting workers do not all wake together. */
const JITTER_MS = 25;
/** Never poll faster than this (a counter with no expiry would otherwise spin). */
const MIN_WAIT_MS = 5;

/** Creates the Postgres table the counters live in (idempotent; safe from concurrent workers). */
export async function ensureRateLimitTable(
  pool: Pool,
  tableName = RATE_LIMIT_TABLE,
): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(tableName)) throw new Error(`invalid table name ${tableName}`);
  // Two processes creating it at once race inside Postgres ("type … already exists", 42710, or a
  // duplicate in pg_type, 23505) even with IF NOT EXISTS: serialise the creation on an advisory
  // lock named after the table, held only by this transaction.
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ddl:${tableName}`]);
    // The columns rate-limiter-flexible's RateLimiterPostgres reads and writes.
    await client.query(
      `CREATE TABLE IF NOT EXISTS "${tableName}" (
         key varchar(255) PRIMARY KEY,
         points integer NOT NULL DEFAULT 0,
         expire bigint
       )`,
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    // A process that is not using this helper may still have created it at the same moment.
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42P07' && code !== '42710') throw err;
  } finally {
    client.release();
  }
}

/**
 * A rate-limiter-flexible limiter counting in the store (Redis or Postgres), with an in-process
 * insurance limiter that counts while the store cannot be reached (unless `insurance` is false).
 */
export function storeLimiter(
  store: RateLimitStore,
  common: { keyPrefix: string; points: number; duration: number },
  insurance = true,
): RateLimiterAbstract {
  const insuranceLimiter = insurance ? new RateLimiterMemory(common) : undefined;
  switch (store.kind) {
    case 'redis':
      return new RateLimiterRedis({
        ...common,
        storeClient: store.client,
        rejectIfRedisNotReady: true,
        ...(insuranceLimiter ? { insuranceLimiter } : {}),
      });
    case 'postgres':
      return new RateLimiterPostgres({
        ...common,
        storeClient: store.pool,
        storeType: 'pool',
        tableName: store.tableName ?? RATE_LIMIT_TABLE,
        tableCreated: true,
        ...(insuranceLimiter ? { insuranceLimiter } : {}),
      });
    case 'memory':
      return new RateLimiterMemory(common);
  }
}

/**
 * Rate limits shared by all worker processes, on rate-limiter-flexible. `acquire` waits (does not
 * fail) until every rule of the key has a free slot, then takes it; it returns how long it made
 * the caller wait. Keys are per provider (`twilio:sms`) and per robot (`wecom:<robotCode>`); the
 * rules come from ChannelRateLimits (config).
 */
export class ProviderRateLimiter {
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly keyPrefix: string;
  private priorityMarks?: RateLimiterAbstract;

  constructor(
    private readonly store: RateLimitStore,
    private readonly options: ProviderRateLimiterOptions = {},
  ) {
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.keyPrefix = options.keyPrefix ?? 'wg:rl';
  }

  /** The limiter counting one store window (one per window shape, shared by all keys). */
  private limiterFor(win: StoreWindow): RateLimiterAbstract {
    const id = `${win.points}p${win.durationSec}s`;
    let limiter = this.limiters.get(id);
    if (limiter) return limiter;
    const common = {
      keyPrefix: `${this.keyPrefix}:${id}`,
      points: win.points,
      duration: win.durationSec,
    };
    limiter = storeLimiter(this.store, common, this.options.insurance !== false);
    this.limiters.set(id, limiter);
    return limiter;
  }

  /**
   * Waits until `key` has a free slot under every rule and takes it (`count` times). Returns the
   * milliseconds it waited (0 when a slot was free at once).
   */
  async acquire(
    key: string,
    rules: RateLimitRule[],
    options: AcquireOptions = {},
  ): Promise<number> {
    if (!rules.length) return 0;
    const limiters = rules.map((rule) => this.limiterFor(storeWindowFor(rule)));
    const count = options.count ?? 1;
    const lane = options.lane;
    let waited = 0;
    try {
      for (let taken = 0; taken < count; taken++) {
        for (;;) {
          if (lane === 'priority') await this.markPriority(key);
          const wait =
            lane === 'normal' && (await this.priorityWaiting(key))
              ? YIELD_MS
              : await this.tryTake(key, limiters);
          if (wait === 0) break;
          // Robots (no lane) by platform only: one series per robot would be too many.
          if (waited === 0)
            rateLimitWaits().inc({ key: lane ? key : key.split(':')[0], lane: lane ?? 'none' });
          const pause = Math.max(wait, MIN_WAIT_MS) + Math.floor(this.random() * JITTER_MS);
          if (options.maxWaitMs !== undefined && waited + pause > options.maxWaitMs) {
            throw new ChannelError(
              'rate_limited',
              'local_rate_limit',
              `${key}: no free slot within ${options.maxWaitMs} ms`,
              pause,
            );
          }
          await this.sleep(pause);
          waited += pause;
        }
      }
    } finally {
      // Served (or given up): normal takers may take the slots again.
      if (lane === 'priority') await this.clearPriority(key);
    }
    return waited;
  }

  /** The marks of waiting priority takers, per key (a counter that expires unless renewed). */
  private marks(): RateLimiterAbstract {
    this.priorityMarks ??= storeLimiter(
      this.store,
      { keyPrefix: `${this.keyPrefix}:prio`, points: 1_000_000, duration: PRIORITY_MARK_SEC },
      this.options.insurance !== false,
    );
    return this.priorityMarks;
  }

  /** A priority taker waits (or is about to try): normal takers yield. Best effort. */
  private async markPriority(key: string): Promise<void> {
    await this.marks()
      .consume(key, 1)
      .catch(() => undefined);
  }

  private async clearPriority(key: string): Promise<void> {
    await this.marks()
      .delete(key)
      .catch(() => undefined);
  }

  /** Whether a priority taker of `key` is waiting now (a store that fails counts as no). */
  private async priorityWaiting(key: string): Promise<boolean> {
    const res = await this.marks()
      .get(key)
      .catch(() => null);
    return !!res && res.consumedPoints > 0 && res.msBeforeNext > 0;
  }

  acquireFor(resource: RateLimitedResource, options?: AcquireOptions): Promise<number> {
    return this.acquire(resource.key, resource.rules, options);
  }

  /**
   * Waits for `count` slots of one robot (`wecom:<robotCode>`, the configured per-robot limits;
   * a WeCom message that also @s people by mobile takes 2: GroupRobotClient.requestsFor).
   */
  acquireRobot(
    platform: RobotPlatform,
    robotCode: string,
    count = 1,
    options: Omit<AcquireOptions, 'count'> = {},
  ): Promise<number> {
    if (!this.options.limits) throw new Error('ProviderRateLimiter was built without limits');
    const resource = this.options.limits.robot(platform, { code: robotCode });
    const maxWaitMs = options.maxWaitMs ?? this.options.robotMaxWaitMs;
    return this.acquire(resource.key, resource.rules, {
      count,
      ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
    });
  }

  /**
   * Takes one slot under every limiter; 0 when taken, else the milliseconds until one may be
   * free. With several rules, all are read first so a slot of one rule is not used up while
   * another is full (a slot taken and then not used only makes the limit stricter).
   */
  private async tryTake(key: string, limiters: RateLimiterAbstract[]): Promise<number> {
    if (limiters.length > 1) {
      const states = await Promise.all(limiters.map((l) => l.get(key)));
      let wait = 0;
      states.forEach((res, i) => {
        if (res && res.consumedPoints >= limiters[i].points && res.msBeforeNext > 0) {
          wait = Math.max(wait, res.msBeforeNext);
        }
      });
      if (wait > 0) return wait;
    }
    for (const limiter of limiters) {
      try {
        await limiter.consume(key, 1);
      } catch (err) {
        if (err instanceof RateLimiterRes) return Math.max(err.msBeforeNext, 1);
        throw new ChannelError(
          'transient',
          'rate_limit_store',
          `rate limiter store failed: ${String(err)}`,
        );
      }
    }
    return 0;
  }
}
