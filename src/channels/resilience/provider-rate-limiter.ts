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

/** A taker waiting in a TakeGroup: what it still needs and what it has waited. */
interface Taker {
  /** Slots it still needs (its `count`, less what earlier takes of its group gave it). */
  remaining: number;
  /** Milliseconds it has waited so far: what acquire returns. */
  waited: number;
  /** How much of the group's current pause it waits (added to `waited` when the pause ends). */
  pausing: number;
  /** Whether rateLimitWaits counted it already (once per waiting taker). */
  counted: boolean;
  maxWaitMs: number | undefined;
  resolve: (waited: number) => void;
  reject: (err: unknown) => void;
}

/**
 * The takers of one key, one set of rules and one lane in this process. They are served
 * together: one loop per group asks the store for all of them at once (one priority check, one
 * `consume(key, n)` per rule), hands the slots it got to them in the order they came, and
 * pauses all that are left until the store says a slot may be free. Under a fan-out's 50
 * concurrent sends that is one or two store round trips per window instead of two per send and
 * per poll. The counters themselves stay in the store: this only merges the asking.
 */
interface TakeGroup {
  key: string;
  lane: AcquireOptions['lane'];
  limiters: RateLimiterAbstract[];
  /** Waiting takers, first come first. */
  queue: Taker[];
  /** While the group pauses: when the pause ends (Date.now() time). */
  pauseEndsAt?: number;
}

/** A store window's id: the limiter counting it and the groups using it are named by it. */
function windowId(win: StoreWindow): string {
  return `${win.points}p${win.durationSec}s`;
}

/**
 * Rate limits shared by all worker processes, on rate-limiter-flexible. `acquire` waits (does not
 * fail) until every rule of the key has a free slot, then takes it; it returns how long it made
 * the caller wait. Keys are per provider (`twilio:sms`) and per robot (`wecom:<robotCode>`); the
 * rules come from ChannelRateLimits (config). Concurrent takers of one key in this process share
 * their store round trips (TakeGroup).
 */
export class ProviderRateLimiter {
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly groups = new Map<string, TakeGroup>();
  /** Priority takers of this process per key, waiting or being served (see acquire). */
  private readonly priorityTakers = new Map<string, number>();
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
    const id = windowId(win);
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
   *
   * The taker joins the TakeGroup of its key, rules and lane: takers that come in the same tick,
   * or while the group's take is in flight, are asked for in the group's next take. Each keeps
   * its own `count` and `maxWaitMs`.
   */
  async acquire(
    key: string,
    rules: RateLimitRule[],
    options: AcquireOptions = {},
  ): Promise<number> {
    if (!rules.length) return 0;
    const windows = rules.map(storeWindowFor);
    const count = options.count ?? 1;
    const lane = options.lane;
    if (count <= 0) return 0;
    // The mark stays until the last priority taker of this process is served: one taker done
    // does not let normal takers in ahead of another still waiting.
    if (lane === 'priority') this.priorityTakers.set(key, (this.priorityTakers.get(key) ?? 0) + 1);
    try {
      return await new Promise<number>((resolve, reject) => {
        this.join(`${lane ?? '-'}|${key}|${windows.map(windowId).join(',')}`, key, windows, lane, {
          remaining: count,
          waited: 0,
          pausing: 0,
          counted: false,
          maxWaitMs: options.maxWaitMs,
          resolve,
          reject,
        });
      });
    } finally {
      if (lane === 'priority') {
        const left = (this.priorityTakers.get(key) ?? 1) - 1;
        if (left > 0) this.priorityTakers.set(key, left);
        else {
          this.priorityTakers.delete(key);
          // Served (or given up): normal takers may take the slots again.
          await this.clearPriority(key);
        }
      }
    }
  }

  /** Puts a taker in its group, starting the group's loop if it has none. */
  private join(
    id: string,
    key: string,
    windows: StoreWindow[],
    lane: AcquireOptions['lane'],
    taker: Taker,
  ): void {
    const group = this.groups.get(id);
    if (!group) {
      const created: TakeGroup = {
        key,
        lane,
        limiters: windows.map((win) => this.limiterFor(win)),
        queue: [taker],
      };
      this.groups.set(id, created);
      void this.serve(id, created);
      return;
    }
    // The group pauses because its last take found no free slot (or a priority taker waits):
    // this taker would find none either before the pause ends, so it waits with the group
    // instead of asking the store again.
    const left = group.pauseEndsAt !== undefined ? Math.max(group.pauseEndsAt - Date.now(), 0) : 0;
    if (left > 0) {
      this.countWait(group, taker);
      if (taker.maxWaitMs !== undefined && left > taker.maxWaitMs) {
        taker.reject(noSlot(key, taker.maxWaitMs, left));
        return;
      }
      taker.pausing = left;
    }
    group.queue.push(taker);
  }

  /**
   * The loop of one group: takes for every waiting taker at once, hands out what it got in
   * arrival order, pauses the rest (those whose `maxWaitMs` the pause would exceed give up) and
   * goes again until nobody waits.
   */
  private async serve(id: string, group: TakeGroup): Promise<void> {
    try {
      // Takers that come in this same tick share the first take.
      await Promise.resolve();
      while (group.queue.length) {
        if (group.lane === 'priority') await this.markPriority(group.key);
        const yieldToPriority = group.lane === 'normal' && (await this.priorityWaiting(group.key));
        // Whoever joined while the mark or the check was in flight is in this take too.
        const batch = group.queue.slice();
        let granted = 0;
        let wait = YIELD_MS;
        if (!yieldToPriority) {
          const wanted = batch.reduce((sum, t) => sum + t.remaining, 0);
          try {
            ({ granted, wait } = await this.tryTake(group.key, group.limiters, wanted));
          } catch (err) {
            // The store failed: every taker of this take fails with it (as each would have).
            for (const t of batch) settle(t).reject(err);
            group.queue = group.queue.filter((t) => t.remaining > 0);
            continue;
          }
        }
        for (const t of batch) {
          const n = Math.min(t.remaining, granted);
          t.remaining -= n;
          granted -= n;
          if (t.remaining === 0) t.resolve(t.waited);
        }
        const unserved = batch.some((t) => t.remaining > 0);
        group.queue = group.queue.filter((t) => t.remaining > 0);
        // All served: those that joined meanwhile have not been asked for yet; ask at once.
        if (!unserved) continue;
        // No free slot for the rest, nor for those that joined meanwhile: all pause together.
        const pause = Math.max(wait, MIN_WAIT_MS) + Math.floor(this.random() * JITTER_MS);
        for (const t of group.queue) {
          this.countWait(group, t);
          if (t.maxWaitMs !== undefined && t.waited + pause > t.maxWaitMs) {
            settle(t).reject(noSlot(group.key, t.maxWaitMs, pause));
          } else t.pausing = pause;
        }
        group.queue = group.queue.filter((t) => t.remaining > 0);
        if (!group.queue.length) break;
        group.pauseEndsAt = Date.now() + pause;
        await this.sleep(pause);
        group.pauseEndsAt = undefined;
        for (const t of group.queue) {
          t.waited += t.pausing;
          t.pausing = 0;
        }
      }
    } catch (err) {
      // Not expected (the store's failures are handled above); no taker is left hanging.
      for (const t of group.queue) t.reject(err);
    } finally {
      this.groups.delete(id);
    }
  }

  /**
   * Counts a taker that has to wait, once. Robots (no lane) by platform only: one series per
   * robot would be too many.
   */
  private countWait(group: TakeGroup, taker: Taker): void {
    if (taker.counted) return;
    taker.counted = true;
    rateLimitWaits().inc({
      key: group.lane ? group.key : group.key.split(':')[0],
      lane: group.lane ?? 'none',
    });
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

  /**
   * A priority taker waits (or is about to try): normal takers yield. Best effort. `set`, not
   * `consume`: a consume keeps the expiry the key was created with (Redis `SET NX EX`, the
   * Postgres upsert), so a mark would lapse 2 s after the first poll however long the taker
   * waits; set renews it on every poll.
   */
  private async markPriority(key: string): Promise<void> {
    await this.marks()
      .set(key, 1, PRIORITY_MARK_SEC)
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
   * Takes up to `wanted` slots under every limiter, with one `consume(key, n)` per limiter;
   * returns how many it took (the fewest any rule gave) and, when fewer than wanted, the
   * milliseconds until more may be free.
   *
   * A consume of n that does not fit is rejected whole by rate-limiter-flexible, but the store
   * has added the n all the same (Redis' Lua script, Postgres' upsert and the memory store all
   * increment first) and the rejection carries the count after that increment, atomically: so
   * `points − (consumedPoints − n)` of the n fitted, and those are ours. The excess only lies in
   * a window that is full anyway (it expires with it), so it wastes no slot of a later window.
   *
   * With several rules, all are read first and no more is asked than every rule has free, so
   * the slots of one rule are not used up while another is full; each next rule is asked only
   * for what the previous ones gave. Slots one rule gave and a later one refused (another
   * process took them between the read and the consume) stay taken: that only makes the limit
   * stricter.
   */
  private async tryTake(
    key: string,
    limiters: RateLimiterAbstract[],
    wanted: number,
  ): Promise<{ granted: number; wait: number }> {
    let want = wanted;
    let wait = 0;
    if (limiters.length > 1) {
      const states = await Promise.all(limiters.map((l) => l.get(key)));
      const free = states.map((res, i) =>
        res && res.msBeforeNext > 0
          ? Math.max(limiters[i].points - res.consumedPoints, 0)
          : Infinity,
      );
      want = Math.min(want, ...free);
      // The rest waits for every rule left without a free slot.
      states.forEach((res, i) => {
        if (res && free[i] <= want && want < wanted) wait = Math.max(wait, res.msBeforeNext);
      });
      if (want === 0) return { granted: 0, wait: Math.max(wait, 1) };
    }
    for (const limiter of limiters) {
      try {
        await limiter.consume(key, want);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) {
          throw new ChannelError(
            'transient',
            'rate_limit_store',
            `rate limiter store failed: ${String(err)}`,
          );
        }
        // A rejection that is not past the limit (an in-memory block) gives nothing.
        const fitted =
          err.consumedPoints > limiter.points
            ? Math.min(Math.max(limiter.points - (err.consumedPoints - want), 0), want)
            : 0;
        wait = Math.max(wait, err.msBeforeNext, 1);
        want = fitted;
        if (want === 0) break;
      }
    }
    return { granted: want, wait: want < wanted ? Math.max(wait, 1) : 0 };
  }
}

/** Marks a taker as done (nothing more to take) and returns it. */
function settle(taker: Taker): Taker {
  taker.remaining = 0;
  return taker;
}

/** The error of a taker that cannot be served within its `maxWaitMs`. */
function noSlot(key: string, maxWaitMs: number, retryAfterMs: number): ChannelError {
  return new ChannelError(
    'rate_limited',
    'local_rate_limit',
    `${key}: no free slot within ${maxWaitMs} ms`,
    retryAfterMs,
  );
}
