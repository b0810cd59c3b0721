import { createHash } from 'node:crypto';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Queue } from 'bullmq';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { unavailableOf } from '../../common/errors/http-exception.filter';
import { QUEUE_NAMES } from '../../common/queue/queue-names';
import { withTimeout } from '../../common/with-timeout';
import type { LateReason } from '../chain/answers.types';
import type { InboundEvent } from './inbound-events';

/** A spooled inbound event and the time the gateway received it (ISO 8601). */
export interface InboundSpoolJob {
  event: InboundEvent;
  receivedAt: string;
  /** Absent on events spooled before reasons were kept: those were all `database_unavailable`. */
  reason?: LateReason;
}

/**
 * An answer acknowledged at the deadline is applied from the spool only this long after it was
 * kept, if its own recording has not finished (and forgotten it) by then: the process died, or
 * the recording failed.
 */
export const ACKNOWLEDGED_SPOOL_DELAY_MS = 60_000;

/** Tries to apply a spooled event: enough for days of outage at the longest retry interval. */
export const SPOOL_ATTEMPTS = 100_000;
/** The backoff type of spooled jobs (the worker's strategy: doubling, capped). */
export const SPOOL_BACKOFF = 'inbound-spool';
/** Seconds a provider or browser is asked to wait when neither Postgres nor the spool answers. */
const RETRY_AFTER_SECONDS = 5;

/**
 * The spool job id of an event, from the provider's own id (CallSid and round and key, MessageSid,
 * link token and answer): a webhook posted twice is one job. Hashed: BullMQ ids may not hold `:`.
 */
export function spoolJobId(e: InboundEvent): string {
  const key =
    e.type === 'gather'
      ? [e.attemptId, e.callSid, e.round, e.digits]
      : e.type === 'sms'
        ? [e.messageSid]
        : [e.canonical, e.answer];
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 32);
  return `${e.type}-${hash}`;
}

/** Spooled events not applied yet, and the oldest one's age; failed ones (given up) apart. */
export interface SpoolBacklog {
  pending: number;
  failed: number;
  /** When the oldest pending event was received (null when none is pending). */
  oldestReceivedAt: string | null;
  oldestSeconds: number | null;
}

/** Looked at this many jobs per state for the oldest (the backlog is small: outages are rare). */
const OLDEST_SCAN = 500;

export async function spoolBacklog(queue: Queue, now = Date.now()): Promise<SpoolBacklog> {
  const states = ['waiting', 'prioritized', 'active', 'delayed'] as const;
  const counts = await queue.getJobCounts(...states, 'failed');
  const pending = states.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  let oldest: number | null = null;
  if (pending > 0) {
    for (const state of states) {
      const jobs = await queue.getJobs([state], 0, OLDEST_SCAN - 1, true);
      for (const job of jobs) {
        const at = Date.parse((job?.data as InboundSpoolJob | undefined)?.receivedAt ?? '');
        if (Number.isFinite(at) && (oldest === null || at < oldest)) oldest = at;
      }
    }
  }
  return {
    pending,
    failed: counts.failed ?? 0,
    oldestReceivedAt: oldest === null ? null : new Date(oldest).toISOString(),
    oldestSeconds: oldest === null ? null : Math.max(0, Math.round((now - oldest) / 1000)),
  };
}

/**
 * The inbound spool. A keypress, SMS reply or link answer whose signature is verified and whose
 * body is valid, but whose recording failed because Postgres cannot be reached (connection
 * refused, cut or timed out; never a constraint or validation error), is kept in the queue backend
 * with the time it was received, and the person is answered as if it had been recorded (with texts
 * that say "received"). A worker (InboundSpoolWorker) applies it through the same code path once
 * Postgres is back. Providers do not retry a keypress or an SMS that got an error, and a person
 * who heard one will not call back: without the spool the answer would be lost.
 */
@Injectable()
export class InboundSpool {
  private readonly logger = new Logger(InboundSpool.name);

  constructor(
    @InjectQueue(QUEUE_NAMES.inbound) private readonly queue: Queue<InboundSpoolJob>,
    @Inject(ConfigService) private readonly config: ConfigService,
  ) {}

  /**
   * Runs `record`; if it fails because Postgres is unreachable, keeps `event` (when there is one
   * to keep) and returns `received()`: what to answer for an event kept. Any other error is thrown
   * as it came; when the spool cannot take the event either, a 503 with Retry-After.
   */
  async recordOrKeep<T>(
    record: () => Promise<T>,
    event: InboundEvent | undefined,
    receivedAt: Date,
    received: () => T,
  ): Promise<T> {
    try {
      return await record();
    } catch (err) {
      if (!event || !unavailableOf(err)) throw err;
      const e = err as { code?: unknown; message?: unknown };
      this.logger.warn(
        { type: event.type, code: e.code, reason: e.message },
        'database unreachable: keeping the inbound event in the spool',
      );
      await this.keep(event, receivedAt);
      return received();
    }
  }

  /**
   * Adds the event to the spool (once per provider id), applied at once or after `delayMs`; a 503
   * when the queue backend fails too.
   */
  async keep(
    event: InboundEvent,
    receivedAt: Date,
    reason: LateReason = 'database_unavailable',
    delayMs = 0,
  ): Promise<void> {
    try {
      await withTimeout(
        this.queue.add(
          event.type,
          { event, receivedAt: receivedAt.toISOString(), reason },
          {
            jobId: spoolJobId(event),
            ...(delayMs > 0 ? { delay: delayMs } : {}),
            attempts: SPOOL_ATTEMPTS,
            backoff: { type: SPOOL_BACKOFF },
            removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
            removeOnFail: false,
          },
        ),
        Number(this.config.get('INBOUND_SPOOL_TIMEOUT_MS') ?? 2000),
        'spooling an inbound event',
      );
    } catch (err) {
      this.logger.error(
        { err, type: event.type },
        'neither the database nor the inbound spool could take the event: answered 503',
      );
      throw new AppException(
        ErrorCode.Unavailable,
        `服务暂时不可用（数据库和队列均无法连接），请 ${RETRY_AFTER_SECONDS} 秒后重试`,
        `Service unavailable (neither the database nor the queue backend can be reached): retry after ${RETRY_AFTER_SECONDS} s`,
        { retryAfter: RETRY_AFTER_SECONDS },
      );
    }
  }

  /**
   * An event kept for later whose recording has finished after all (an answer acknowledged at the
   * deadline): taken out of the spool while it still waits. One the worker holds already is left
   * to it (applying it again records nothing twice). Best effort.
   */
  async forget(event: InboundEvent): Promise<void> {
    await this.queue
      .remove(spoolJobId(event))
      .catch((err: unknown) =>
        this.logger.warn(
          { err: err instanceof Error ? err.message : String(err), type: event.type },
          'an answer recorded after its acknowledgement could not be taken out of the spool',
        ),
      );
  }

  backlog(): Promise<SpoolBacklog> {
    return spoolBacklog(this.queue);
  }
}
