/**
 * Every BullMQ queue of the gateway. Keys are prefixed with QUEUE_PREFIX, a Redis hash tag such as
 * `{wg}`, so that all keys of a queue share one Redis Cluster slot (BullMQ's Lua scripts need it).
 * One send queue per provider, so that each provider's rate limit holds across all workers.
 */
export const QUEUE_NAMES = {
  /** Per warning version: resolve recipients, write deliveries and attempts, enqueue sends. */
  fanout: 'fanout',
  /** 叫应 timers: a step's wait running out, and the group rule of a grid. */
  escalation: 'escalation',
  /** Expiry timers and the recovery sweep that re-enqueues anything accepted but not queued. */
  lifecycle: 'lifecycle',
  sendSms: 'send-sms',
  /**
   * A warning's first SMS contacts, a batch of people a job (SEND_SMS_BATCH): one job, one claim
   * and one recording for the batch instead of one of each per person. Paced in batches, each
   * message within the provider's shared rate. What a batch leaves unsent goes to `send-sms`.
   */
  sendSmsBatch: 'send-sms-batch',
  sendVoice: 'send-voice',
  sendEmail: 'send-email',
  sendRobot: 'send-robot',
  sendBroadcast: 'send-broadcast',
  /** 险情上报: a report's notices to duty offices (sends), and its city-deadline timer. */
  hazardReports: 'hazard-reports',
  /**
   * The inbound spool: keypresses, SMS replies and confirmation-link answers received (signature
   * verified, body valid) while Postgres was unreachable, applied once it is back.
   */
  inbound: 'inbound-spool',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];
export const ALL_QUEUES: QueueName[] = Object.values(QUEUE_NAMES);

/** Payloads carry ids only; handlers re-read state from Postgres (delivery is at-least-once). */
export interface FanoutJob {
  warningId: string;
  version: number;
}
export interface SendAttemptJob {
  attemptId: string;
  /** Set when the provider accepted the send but recording that failed: record, never resend. */
  accepted?: { provider: string; providerId: string; segments?: number };
}
/** A batch of first-contact SMS attempts (their `send_batch`), sent together. */
export interface SendBatchJob {
  batchId: string;
  attemptIds: string[];
}
export interface SendGroupJob {
  groupSendId: string;
  /** Set when the provider accepted the send but recording that failed: record, never resend. */
  accepted?: { providerId: string };
}
/**
 * 叫应 step timers are one job per (warning, version, step, due second): its handler advances
 * every open delivery of that warning and step whose `step_due_at` has come. `second` is the due
 * instant's epoch second (the job id's last part).
 */
export interface StepTimerJob {
  type: 'steps';
  warningId: string;
  version: number;
  step: number;
  second: number;
}
export type EscalationJob =
  | StepTimerJob
  /** One delivery's timer, as releases before grouped timers queued it; still handled. */
  | { type: 'step'; deliveryId: string; version: number; step: number }
  | { type: 'group'; warningId: string; version: number; gridCode: string };
/**
 * A hazard report's notice (one SMS or call, job id `notice-<noticeId>`), or its deadline timer
 * (job id `deadline-<reportId>`, due at the 45-minute mark).
 */
export type HazardReportJob =
  | { type: 'notice'; noticeId: string; accepted?: { providerId: string } }
  | { type: 'deadline'; reportId: string }
  /** The report's 叫应 chain: step `step` of each duty office not yet acknowledged is due. */
  | { type: 'step'; reportId: string; step: number };

/** The job id of a step timer: adding the same timer twice adds nothing. */
export function stepTimerJobId(t: Omit<StepTimerJob, 'type'>): string {
  return `step-${t.warningId}-v${t.version}-s${t.step}-t${t.second}`;
}
export type LifecycleJob = { type: 'expire'; warningId: string } | { type: 'recover' };

/**
 * BullMQ priority (1 is served first): imminent before routine, red before blue. Jobs of an
 * imminent warning overtake a meteorological warning's jobs that are already queued.
 */
export function jobPriority(
  kind: 'meteorological_risk' | 'imminent',
  level: 'red' | 'orange' | 'yellow' | 'blue',
): number {
  const byLevel = { red: 1, orange: 2, yellow: 3, blue: 4 }[level];
  return kind === 'imminent' ? byLevel : 4 + byLevel;
}
