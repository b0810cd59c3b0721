import { AsyncLocalStorage } from 'node:async_hooks';
import { CHAIN_CLOSED, type DeliveryState } from './chain-states';

export type { DeliveryState };

/** What a person can answer, and by which channel: the shapes of the chain's answer move. */
export const ANSWER_KINDS = ['confirm', 'help', 'ambiguous'] as const;

export type AnswerKind = (typeof ANSWER_KINDS)[number];

export const ANSWER_CHANNELS = ['voice', 'sms', 'link', 'on_site'] as const;
export type AnswerChannel = (typeof ANSWER_CHANNELS)[number];

/**
 * States an answer of this kind no longer changes: the first effective answer stands. A request
 * for help still reaches a confirmed person: it is a new emergency, flagged on top of their
 * confirmation (help_requested_at), which stays their first answer.
 */
export function closedFor(kind: AnswerKind): readonly DeliveryState[] {
  return kind === 'help' ? ['declined', 'cancelled'] : CHAIN_CLOSED;
}

export interface AnswerInput {
  deliveryId: string;
  kind: AnswerKind;
  channel: AnswerChannel;
  /** The contact attempt answered (the call, the SMS replied to), when known. */
  attemptId?: string | null;
  /** What the person pressed, wrote or chose, as received. */
  raw?: string | null;
  /** Token id of whoever recorded it for the person (on-site confirmation). */
  recordedBy?: string | null;
  reason?: string | null;
  /** Provider message / call id or link token: the same answer delivered twice is one row. */
  dedupeKey: string;
  /**
   * Set only for an answer replayed from the inbound spool (received while Postgres was
   * unreachable, recorded once it was back): the time the gateway received it, which is the
   * answer's time (and so the person's response time); the audit event notes the delay.
   */
  receivedAt?: Date;
}

/**
 * Why an event was recorded from the inbound spool rather than at once: Postgres could not be
 * reached; its webhook was answered at the acknowledgement deadline and this process did not
 * record it in time; or it arrived past the answers' bound (ANSWER_MAX_IN_FLIGHT).
 */
export type LateReason = 'database_unavailable' | 'acknowledged_early' | 'under_load';

/** The reason of the spooled event being applied now (set by the spool's worker around it). */
const lateReasons = new AsyncLocalStorage<LateReason>();

/** Runs `fn` (applying one spooled event) with `reason` as what its delayed notes say. */
export function withLateReason<T>(reason: LateReason, fn: () => Promise<T>): Promise<T> {
  return lateReasons.run(reason, fn);
}

/**
 * The note an audit event of an event replayed from the inbound spool carries: it was received at
 * `receivedAt` and recorded late, and why (`withLateReason`; events spooled before reasons were
 * kept were all kept because the database could not be reached). Empty otherwise.
 */
export function delayedNote(
  receivedAt?: Date,
  reason: LateReason | undefined = lateReasons.getStore(),
): {
  delayed?: { receivedAt: string; reason: LateReason };
} {
  return receivedAt
    ? {
        delayed: {
          receivedAt: receivedAt.toISOString(),
          reason: reason ?? 'database_unavailable',
        },
      }
    : {};
}

/** Why the answers being recorded in this async context are late (`withLateReason`), if they are. */
export function currentLateReason(): LateReason | undefined {
  return lateReasons.getStore();
}

export interface AnswerResult {
  /** False when this dedupe key was already recorded (nothing changed). */
  recorded: boolean;
  /** It changed the person's state (confirmed, or declined = asked for help). */
  effective: boolean;
  /** The delivery's state after the answer. */
  state: DeliveryState;
  deliveryId: string;
  warningId: string;
  answerId?: string;
}

/** The on-site answer a completed task gives the person it was about (recorded by the caller). */
export interface OnSiteAnswer {
  deliveryId: string;
  recordedBy?: string;
  reason: string;
  raw: string;
  dedupeKey: string;
}
