import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Queue } from 'bullmq';
import {
  type EscalationJob,
  type FanoutJob,
  type LifecycleJob,
  QUEUE_NAMES,
  type SendAttemptJob,
  type SendBatchJob,
  type SendGroupJob,
  type StepTimerJob,
  stepTimerJobId,
} from './queue-names';
import type { ChannelKind } from '../../channels/channel.types';
import { positive } from '../config-number';
import { withTimeout } from '../with-timeout';
import { fanoutYields } from '../observability/metrics';

/** An attempt to enqueue: a job of its own, or its batch's (`sendBatch`). */
export interface AttemptToEnqueue {
  id: string;
  channel: ChannelKind;
  priority: number;
  delayMs?: number;
  /** Sent by the batch job `batch-<sendBatch>` (a warning's first SMS contacts). */
  sendBatch?: string | null;
  /** An acceptance an earlier try could not record: its job records it, never sends. */
  accepted?: SendAttemptJob['accepted'];
}

/** A client of the queue backend, as BullMQ's Redis backend holds it. */
interface BackendClient {
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  exists(key: string): Promise<number>;
}

/** How long one signal of answers pressing holds (ms); the API renews it while they press. */
export const ANSWERS_PRESSING_HOLD_MS = 300;
/** Longest a batch of a fan-out waits while answers are pressing (FANOUT_YIELD_MAX_MS). */
const YIELD_MAX_MS = 1000;
/** How often a waiting fan-out batch looks again whether answers still press (ms). */
const PRESSING_POLL_MS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Job states of a job that will still run. */
const PENDING_STATES = new Set(['waiting', 'prioritized', 'delayed', 'active', 'waiting-children']);

/** The job id of a grid's group-rule timer: one per warning version and grid. */
export function groupRuleJobId(r: { warningId: string; version: number; gridCode: string }) {
  return `group-${r.warningId}-v${r.version}-${r.gridCode}`;
}

/**
 * Every enqueue of the gateway. Job ids are deterministic (the row id), so a repeated enqueue
 * (a retried fan-out, the recovery sweep) never sends twice.
 */
@Injectable()
export class DispatchQueue {
  constructor(
    @InjectQueue(QUEUE_NAMES.fanout) private readonly fanout: Queue<FanoutJob>,
    @InjectQueue(QUEUE_NAMES.lifecycle) private readonly lifecycle: Queue<LifecycleJob>,
    @InjectQueue(QUEUE_NAMES.escalation) private readonly escalation: Queue<EscalationJob>,
    @InjectQueue(QUEUE_NAMES.sendSms) private readonly sms: Queue<SendAttemptJob>,
    @InjectQueue(QUEUE_NAMES.sendSmsBatch) private readonly smsBatches: Queue<SendBatchJob>,
    @InjectQueue(QUEUE_NAMES.sendVoice) private readonly voice: Queue<SendAttemptJob>,
    @InjectQueue(QUEUE_NAMES.sendEmail) private readonly email: Queue<SendAttemptJob>,
    @InjectQueue(QUEUE_NAMES.sendRobot) private readonly robot: Queue<SendGroupJob>,
    @InjectQueue(QUEUE_NAMES.sendBroadcast) private readonly broadcast: Queue<SendGroupJob>,
    private readonly config: ConfigService,
  ) {}

  /** When this process last said that answers are pressing (epoch ms). */
  private pressingSaidAt = 0;

  private async backendClient(): Promise<BackendClient> {
    return (this.fanout.backend as unknown as { client: Promise<BackendClient> }).client;
  }

  private get pressingKey(): string {
    return this.fanout.toKey('answers-pressing');
  }

  /**
   * An API process has more answers in hand than ANSWER_PRESSURE_IN_HAND:
   * every worker's fan-out yields to them for a while (`yieldToAnswers`). Said in the queue
   * backend for ANSWERS_PRESSING_HOLD_MS, at most once a third of that per process; a failure
   * to say it is ignored (the fan-out then simply does not yield).
   */
  answersPressing(): void {
    const now = Date.now();
    if (now - this.pressingSaidAt < ANSWERS_PRESSING_HOLD_MS / 3) return;
    this.pressingSaidAt = now;
    void this.backendClient()
      .then((c) => c.set(this.pressingKey, '1', 'PX', ANSWERS_PRESSING_HOLD_MS))
      .catch(() => undefined);
  }

  /**
   * Before a batch of a fan-out (its rows, a batch job of its sends): while answers are pressing
   * in an API process, waits for them, never longer than FANOUT_YIELD_MAX_MS. Answers
   * and the fan-out share the machine's cores and the database; a person's keypress, which stops
   * their pending sends, goes before the next thousand first contacts. Returns the ms waited (0
   * when no answers were pressing); a batch that waited counts in wg_fanout_yields_total.
   */
  async yieldToAnswers(batch: 'rows' | 'sends'): Promise<number> {
    const maxMs = positive(this.config.get('FANOUT_YIELD_MAX_MS'), YIELD_MAX_MS, true);
    if (maxMs <= 0) return 0;
    const start = Date.now();
    const left = () => maxMs - (Date.now() - start);
    let pressed = false;
    try {
      const client = await withTimeout(this.backendClient(), left(), 'the queue backend');
      while (left() > 0 && (await withTimeout(client.exists(this.pressingKey), left(), 'a look'))) {
        pressed = true;
        await sleep(Math.min(PRESSING_POLL_MS, Math.max(0, left())));
      }
    } catch {
      // The bound reached while looking, or the queue backend unreachable: the batch goes on.
    }
    if (!pressed) return 0;
    fanoutYields().inc({ batch });
    return Math.max(1, Date.now() - start);
  }

  /** Transient provider errors: retried with exponential backoff (2 s, 4 s, 8 s, … by default). */
  get sendRetry() {
    return {
      attempts: Number(this.config.get('SEND_RETRY_ATTEMPTS') ?? 6),
      backoff: {
        type: 'exponential',
        delay: Number(this.config.get('SEND_RETRY_BACKOFF_MS') ?? 2000),
      },
    };
  }

  /** SMS the provider takes per second, all workers together (TWILIO_SMS_PER_SECOND). */
  get smsPerSecond(): number {
    return positive(this.config.get('TWILIO_SMS_PER_SECOND'), 10);
  }

  /**
   * Batch jobs of first SMS contacts started per second: the provider's rate in batches of at
   * most SEND_SMS_BATCH people (see smsBatchSize).
   */
  get smsBatchesPerSecond(): number {
    return Math.ceil(this.smsPerSecond / positive(this.config.get('SEND_SMS_BATCH'), 100));
  }

  /**
   * People a batch job of first SMS contacts carries: the provider's rate shared evenly among the
   * batches of a second, so that the batches of a second add up to the rate and a batch never
   * holds more than a second of sends before a more urgent warning's. 1: no batches.
   */
  get smsBatchSize(): number {
    return Math.ceil(this.smsPerSecond / this.smsBatchesPerSecond);
  }

  /** One send queue per provider; a manual task reaches its grid member by SMS. */
  private queueFor(channel: ChannelKind): Queue {
    const queues: Record<ChannelKind, Queue> = {
      sms: this.sms,
      manual: this.sms,
      voice: this.voice,
      email: this.email,
      wecom: this.robot,
      dingtalk: this.robot,
      feishu: this.robot,
      broadcast: this.broadcast,
    };
    return queues[channel];
  }

  async enqueueFanout(job: FanoutJob, priority: number): Promise<void> {
    await this.fanout.add('fanout', job, {
      jobId: `fanout-${job.warningId}-v${job.version}`,
      priority,
      attempts: 10,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: 1000,
      removeOnFail: false,
    });
  }

  /**
   * SMS and call jobs waiting to run at `priority` or a more urgent one (a lower number; 0: jobs
   * without a priority): what a fan-out of that priority would queue behind. Counted in the queue
   * backend per priority (a range count on its sorted set), not by reading the jobs.
   */
  async sendsAhead(priority: number): Promise<number> {
    const levels = Array.from({ length: Math.max(0, priority) + 1 }, (_, i) => i);
    let n = 0;
    for (const queue of [this.sms, this.voice]) {
      const counts = await queue.getCountsPerPriority(levels);
      for (const c of Object.values(counts)) n += c;
    }
    // A batch job counts as the people it carries (batches are full).
    const batches = await this.smsBatches.getCountsPerPriority(levels);
    for (const c of Object.values(batches)) n += c * this.smsBatchSize;
    return n;
  }

  /** Fan-out jobs waiting for a worker at a priority more urgent than `priority`. */
  async fanoutsAhead(priority: number): Promise<number> {
    if (priority <= 1) return 0;
    const levels = Array.from({ length: priority - 1 }, (_, i) => i + 1);
    const counts = await this.fanout.getCountsPerPriority(levels);
    return Object.values(counts).reduce((n, c) => n + c, 0);
  }

  /**
   * Attempts with a `sendBatch` go to their batch's job (`batch-<sendBatch>`, on `send-sms-batch`),
   * the others to a job of their own (`attempt-<id>`). Either id is deterministic, so an attempt
   * enqueued again while its job exists is not sent twice.
   */
  async enqueueAttempts(attempts: AttemptToEnqueue[]): Promise<void> {
    const byQueue = new Map<Queue, AttemptToEnqueue[]>();
    const batches = new Map<string, AttemptToEnqueue[]>();
    for (const a of attempts) {
      if (a.sendBatch && a.channel === 'sms') {
        const list = batches.get(a.sendBatch);
        if (list) list.push(a);
        else batches.set(a.sendBatch, [a]);
        continue;
      }
      const q = this.queueFor(a.channel);
      const list = byQueue.get(q);
      if (list) list.push(a);
      else byQueue.set(q, [a]);
    }
    for (const [queue, list] of byQueue) {
      await queue.addBulk(
        list.map((a) => ({
          name: 'attempt',
          data: a.accepted ? { attemptId: a.id, accepted: a.accepted } : { attemptId: a.id },
          opts: {
            jobId: `attempt-${a.id}`,
            priority: a.priority,
            delay: a.delayMs,
            ...this.sendRetry,
            removeOnComplete: 5000,
            removeOnFail: false,
          },
        })),
      );
    }
    if (batches.size)
      await this.smsBatches.addBulk(
        [...batches].map(([batchId, list]) => ({
          name: 'batch',
          data: { batchId, attemptIds: list.map((a) => a.id) },
          opts: {
            jobId: `batch-${batchId}`,
            priority: Math.min(...list.map((a) => a.priority)),
            ...this.sendRetry,
            removeOnComplete: 1000,
            removeOnFail: false,
          },
        })),
      );
  }

  /** Of these batches, those whose job will still run (waiting, delayed or running). */
  async batchesPending(batchIds: string[]): Promise<Set<string>> {
    const pending = new Set<string>();
    for (const id of new Set(batchIds)) {
      const state = await this.smsBatches.getJobState(`batch-${id}`);
      if (PENDING_STATES.has(state)) pending.add(id);
    }
    return pending;
  }

  async enqueueGroupSends(
    sends: { id: string; channel: ChannelKind; priority: number }[],
  ): Promise<void> {
    for (const s of sends) {
      await this.queueFor(s.channel).add(
        'group',
        { groupSendId: s.id },
        {
          jobId: `group-${s.id}`,
          priority: s.priority,
          ...this.sendRetry,
          removeOnComplete: 5000,
          removeOnFail: false,
        },
      );
    }
  }

  /**
   * Brings back the job of a send left in `sending` (an attempt or a group send): a failed or
   * finished job is run again under its own id, a lost one is added again. Leaves a job that is
   * still waiting, delayed or running alone and answers false.
   */
  /**
   * What a send job kept of a provider's acceptance that could not be recorded (see
   * SendAttemptService.send): the proof that the message went out, when the job still exists.
   */
  async acceptedOf(send: {
    id: string;
    channel: ChannelKind;
  }): Promise<SendAttemptJob['accepted'] | undefined> {
    const job = await this.queueFor(send.channel).getJob(`attempt-${send.id}`);
    return (job?.data as SendAttemptJob | undefined)?.accepted;
  }

  /** What a group send job kept of an acceptance that could not be recorded. */
  async acceptedOfGroup(send: {
    id: string;
    channel: ChannelKind;
  }): Promise<SendGroupJob['accepted'] | undefined> {
    const job = await this.queueFor(send.channel).getJob(`group-${send.id}`);
    return (job?.data as SendGroupJob | undefined)?.accepted;
  }

  async revive(
    kind: 'attempt' | 'group',
    send: { id: string; channel: ChannelKind; priority: number },
  ): Promise<boolean> {
    const queue = this.queueFor(send.channel);
    const jobId = `${kind}-${send.id}`;
    const job = await queue.getJob(jobId);
    if (job) {
      const state = await job.getState();
      if (state === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return true;
      }
      if (state !== 'completed' && state !== 'unknown') return false;
      await job.remove();
    }
    if (kind === 'attempt') await this.enqueueAttempts([send]);
    else await this.enqueueGroupSends([send]);
    return true;
  }

  /**
   * Step timers, one job per (warning, version, step, due second): job id
   * `step-<warning>-v<version>-s<step>-t<epoch second>` (stepTimerJobId), so a timer added twice (a
   * retried fan-out, the next batch falling due in the same second, the recovery sweep) is one job.
   * It is due at the earliest due time of its second among those given; its handler comes back for
   * deliveries due later in the same second (see EscalationService.onStepsDue).
   */
  async scheduleStepTimers(
    timers: { warningId: string; version: number; step: number; dueAt: Date }[],
  ): Promise<void> {
    if (!timers.length) return;
    const jobs = new Map<string, { timer: Omit<StepTimerJob, 'type'>; dueMs: number }>();
    for (const t of timers) {
      const dueMs = t.dueAt.getTime();
      const timer = {
        warningId: t.warningId,
        version: t.version,
        step: t.step,
        second: Math.floor(dueMs / 1000),
      };
      const id = stepTimerJobId(timer);
      const seen = jobs.get(id);
      if (!seen || dueMs < seen.dueMs) jobs.set(id, { timer, dueMs });
    }
    const now = Date.now();
    await this.escalation.addBulk(
      [...jobs].map(([jobId, { timer, dueMs }]) => ({
        name: 'steps',
        data: { type: 'steps' as const, ...timer },
        opts: {
          jobId,
          delay: Math.max(0, dueMs - now),
          attempts: 10,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: 10000,
          removeOnFail: false,
        },
      })),
    );
  }

  /**
   * Brings back a step timer whose deliveries are overdue (the recovery sweep): added when missing,
   * run again when it failed or completed (a completed job under the same id would make the add a
   * no-op), left alone while it waits or runs. True when it was added or run again.
   */
  async reviveStepTimer(timer: Omit<StepTimerJob, 'type'>): Promise<boolean> {
    const jobId = stepTimerJobId(timer);
    const job = await this.escalation.getJob(jobId);
    if (job) {
      const state = await job.getState();
      if (state === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return true;
      }
      if (state !== 'completed' && state !== 'unknown') return false;
      await job.remove();
    }
    await this.scheduleStepTimers([{ ...timer, dueAt: new Date(timer.second * 1000) }]);
    return true;
  }

  async scheduleGroupRules(
    rules: { warningId: string; version: number; gridCode: string; delayMs: number }[],
  ): Promise<void> {
    if (!rules.length) return;
    await this.escalation.addBulk(
      rules.map((r) => ({
        name: 'group',
        data: {
          type: 'group' as const,
          warningId: r.warningId,
          version: r.version,
          gridCode: r.gridCode,
        },
        opts: {
          jobId: groupRuleJobId(r),
          delay: r.delayMs,
          attempts: 10,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: 10000,
          removeOnFail: false,
        },
      })),
    );
  }

  /**
   * Brings back a grid's group-rule timer that the queue backend lost (the recovery sweep): added
   * to run now when its job is missing, run again when it failed; left alone while it waits or
   * runs, or when it completed (its outcome is then on record). True when added or run again.
   */
  async reviveGroupRule(rule: {
    warningId: string;
    version: number;
    gridCode: string;
  }): Promise<boolean> {
    const job = await this.escalation.getJob(groupRuleJobId(rule));
    if (job) {
      const state = await job.getState();
      if (state !== 'failed') return false;
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    }
    await this.scheduleGroupRules([{ ...rule, delayMs: 0 }]);
    return true;
  }

  /** One timer per (warning, expiry time): an update that moves `expires` adds a new one. */
  async scheduleExpiry(warningId: string, expiresAt: Date): Promise<void> {
    const jobId = `expire-${warningId}-${expiresAt.getTime()}`;
    await this.lifecycle.add(
      'expire',
      { type: 'expire', warningId },
      {
        jobId,
        delay: Math.max(0, expiresAt.getTime() - Date.now()),
        attempts: 10,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: true,
      },
    );
  }

  /** The recovery sweep runs every 30 s on some worker (one scheduler, not one per process). */
  /** The recovery sweep's former schedule in the queue backend (see RecoverySweep). */
  async removeRecoverySchedule(): Promise<void> {
    await this.lifecycle.removeJobScheduler('recover');
  }

  /** Waiting jobs per send queue: the backlog a new warning's first contacts wait behind. */
  async backlog(): Promise<Record<'sms' | 'voice' | 'email', number>> {
    const [sms, voice, email] = await Promise.all(
      [this.sms, this.voice, this.email].map((q) =>
        q.getJobCounts('waiting', 'prioritized', 'delayed'),
      ),
    );
    const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    return { sms: total(sms), voice: total(voice), email: total(email) };
  }
}
