import CircuitBreaker from 'opossum';
import { ChannelError } from '../channel.types';
import { breakerState, providerCalls, providerLatency } from '../../common/observability/metrics';

export interface BreakerSettings {
  /** The circuit opens when more than this share (%) of the calls in the window failed. */
  failureThresholdPercent: number;
  /** Milliseconds the circuit stays open before one trial call is let through (half-open). */
  resetMs: number;
  /** Calls within the window before the share counts at all. */
  minRequests: number;
  /** The rolling statistics window, default 10 s. */
  rollingWindowMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerLog {
  warn(message: string): void;
  log(message: string): void;
}

type Action = (fn: () => Promise<unknown>) => Promise<unknown>;

interface Entry {
  breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  openedAt: number;
}

/**
 * Does this failure say something about the provider's health? Only transient ones do (5xx,
 * timeouts, refused connections), and errors that are not ChannelErrors (unexpected, so treated
 * like trouble). A permanent error (an invalid number, a wrong robot key) is a sound answer from
 * a working provider; a rate limit is the provider working and asking us to slow down, which the
 * rate limiter and the retry delay handle — opening the circuit for it would fail over a whole
 * channel because one robot is busy.
 */
export function countsAsProviderFailure(err: unknown): boolean {
  return !(err instanceof ChannelError) || err.kind === 'transient';
}

/**
 * One circuit breaker (opossum) per provider, e.g. 'twilio:sms', 'twilio:voice', 'smtp',
 * 'broadcast', 'wecom', 'dingtalk', 'feishu'. While a provider's circuit is open, `run` fails at
 * once with ChannelError('circuit_open') so dispatch moves to the next channel instead of waiting
 * on timeouts. Each process keeps its own breakers: every worker notices an outage by itself
 * within `minRequests` calls.
 */
export class ProviderBreakers {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly settings: BreakerSettings,
    private readonly log?: BreakerLog,
    private readonly now: () => number = Date.now,
  ) {}

  private entry(provider: string): Entry {
    let entry = this.entries.get(provider);
    if (entry) return entry;
    const action: Action = (fn) => fn();
    const breaker = new CircuitBreaker<[() => Promise<unknown>], unknown>(action, {
      name: provider,
      // No breaker timeout: it would reject while the request still runs (an SMS could then be
      // sent twice); the clients have their own HTTP timeouts.
      timeout: false,
      errorThresholdPercentage: this.settings.failureThresholdPercent,
      resetTimeout: this.settings.resetMs,
      volumeThreshold: this.settings.minRequests,
      rollingCountTimeout: this.settings.rollingWindowMs ?? 10_000,
      rollingCountBuckets: 10,
      errorFilter: (err: unknown) => !countsAsProviderFailure(err),
    });
    const created: Entry = { breaker, openedAt: 0 };
    breaker.on('open', () => {
      breakerState().set({ provider }, 2);
      created.openedAt = this.now();
      this.log?.warn(
        `circuit for ${provider} opened: failing over for ${this.settings.resetMs} ms`,
      );
    });
    breaker.on('halfOpen', () => {
      breakerState().set({ provider }, 1);
      this.log?.log(`circuit for ${provider} half-open: trying one call`);
    });
    breaker.on('close', () => {
      breakerState().set({ provider }, 0);
      this.log?.log(`circuit for ${provider} closed`);
    });
    breakerState().set({ provider }, 0);
    this.entries.set(provider, created);
    entry = created;
    return entry;
  }

  /** Runs `fn` through the provider's breaker. */
  async run<T>(provider: string, fn: () => Promise<T>): Promise<T> {
    const entry = this.entry(provider);
    const stop = providerLatency().startTimer({ provider });
    try {
      const result = (await entry.breaker.fire(fn)) as T;
      stop();
      providerCalls().inc({ provider, outcome: 'accepted' });
      return result;
    } catch (err) {
      const open = (err as { code?: unknown } | null)?.code === 'EOPENBREAKER';
      if (!open) stop();
      providerCalls().inc({
        provider,
        outcome: open ? 'circuit_open' : err instanceof ChannelError ? err.kind : 'error',
      });
      if (open) {
        const retryAfterMs = Math.max(0, entry.openedAt + this.settings.resetMs - this.now());
        throw new ChannelError(
          'circuit_open',
          undefined,
          `${provider} is failing: circuit open, not calling it for now`,
          retryAfterMs,
        );
      }
      throw err;
    }
  }

  /**
   * While the provider's circuit is open: how long until it is tried again (0 when due now).
   * Undefined when calls go through (closed, or half-open for its trial call).
   */
  retryAfterMs(provider: string): number | undefined {
    const entry = this.entries.get(provider);
    if (!entry || !entry.breaker.opened || entry.breaker.halfOpen) return undefined;
    return Math.max(0, entry.openedAt + this.settings.resetMs - this.now());
  }

  state(provider: string): BreakerState {
    const breaker = this.entries.get(provider)?.breaker;
    if (!breaker || breaker.closed) return 'closed';
    return breaker.halfOpen ? 'half_open' : 'open';
  }

  /** Stops every breaker's timers. */
  shutdown(): void {
    for (const { breaker } of this.entries.values()) breaker.shutdown();
    this.entries.clear();
  }

  onModuleDestroy(): void {
    this.shutdown();
  }
}
