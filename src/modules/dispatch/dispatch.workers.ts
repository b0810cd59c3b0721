import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DelayedError, type Job, type Processor, Worker, type WorkerOptions } from 'bullmq';
import {
  type EscalationJob,
  type FanoutJob,
  type LifecycleJob,
  QUEUE_NAMES,
  type QueueName,
  type SendAttemptJob,
  type SendBatchJob,
  type SendGroupJob,
} from '../../common/queue/queue-names';
import { GATEWAY_RUNTIME, type GatewayRuntime } from '../../common/runtime.token';
import { closeWorkerWithin } from '../../common/queue/close-worker';
import { bullConnectionOptions } from '../../runtime/queue-backend';
import { EscalationService } from './escalation.service';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { FanoutService } from './fanout.service';
import { LifecycleService } from './lifecycle.service';
import { timerLateness } from '../../common/observability/metrics';
import { SendAttemptService } from './send-attempt.service';
import { SendGroupService } from './send-group.service';
import { SendBatchService } from './send-batch.service';

const isLastTry = (job: Job) => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

/**
 * A 叫应 timer job, as the escalation worker runs it. A step timer advances every due delivery of
 * its warning and step (its lateness is observed per delivery by the handler); when some of its
 * second are due a little later, the job waits for them in the delayed set (no worker slot held)
 * and runs again.
 */
export async function runEscalationJob(
  escalation: EscalationService,
  job: Job<EscalationJob>,
  token?: string,
): Promise<unknown> {
  const data = job.data;
  if (data.type === 'steps') {
    const out = await escalation.onStepsDue(data, { retry: job.attemptsMade > 0 });
    if (out.againAt !== undefined) {
      await job.moveToDelayed(out.againAt, token);
      throw new DelayedError();
    }
    return out.advanced;
  }
  // How late the timer fires: from its due time (added + delay) to now.
  timerLateness().observe(
    { type: data.type },
    Math.max(0, Date.now() - (job.timestamp + (job.opts.delay ?? 0))) / 1000,
  );
  return data.type === 'step'
    ? escalation.onStepTimer(data.deliveryId, data.version, data.step)
    : escalation.onGroupRule(data.warningId, data.version, data.gridCode);
}

/**
 * The queue workers of this process (ROLE=worker or all). Built by hand rather than with
 * decorators so that concurrency and rate limits come from validated config. BullMQ's limiter is
 * kept in the queue backend, so a provider's rate holds across every worker process.
 */
@Injectable()
export class DispatchWorkers implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DispatchWorkers.name);
  private readonly workers: Worker[] = [];

  constructor(
    @Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime,
    private readonly config: ConfigService,
    private readonly fanout: FanoutService,
    private readonly attempts: SendAttemptService,
    private readonly batches: SendBatchService,
    private readonly groups: SendGroupService,
    private readonly lifecycle: LifecycleService,
    private readonly escalation: EscalationService,
    private readonly queue: DispatchQueue,
  ) {}

  private num(name: string, fallback: number): number {
    const v = Number(this.config.get(name));
    return Number.isFinite(v) && v > 0 ? v : fallback;
  }

  async onApplicationBootstrap(): Promise<void> {
    const perSecond = (n: number) => ({ max: Math.max(1, Math.round(n)), duration: 1000 });
    this.start<FanoutJob>(
      QUEUE_NAMES.fanout,
      (job) => this.fanout.run(job.data.warningId, job.data.version),
      { concurrency: 2 },
    );
    this.start<EscalationJob>(
      QUEUE_NAMES.escalation,
      (job, token) => runEscalationJob(this.escalation, job, token),
      { concurrency: this.num('ESCALATION_CONCURRENCY', 10) },
    );
    this.start<LifecycleJob>(
      QUEUE_NAMES.lifecycle,
      // 'recover' jobs come only from a schedule of an earlier release: the recovery sweep runs
      // on its own timer now (RecoverySweep), so such a job has nothing left to do.
      async (job) => {
        if (job.data.type === 'expire') await this.lifecycle.expire(job.data.warningId);
      },
      { concurrency: 2 },
    );
    this.start<SendAttemptJob>(QUEUE_NAMES.sendSms, (job, token) => this.sendAttempt(job, token), {
      concurrency: this.num('SEND_SMS_CONCURRENCY', 50),
      limiter: perSecond(this.num('TWILIO_SMS_PER_SECOND', 10)),
    });
    // A warning's first SMS contacts, a batch a job: paced in batches (the limiter counts jobs),
    // each message within the provider's shared rate (ProviderRateLimiter).
    this.start<SendBatchJob>(
      QUEUE_NAMES.sendSmsBatch,
      (job) => this.batches.send(job.data, job.opts.priority ?? 0),
      {
        concurrency: this.num('SEND_SMS_BATCH_CONCURRENCY', 8),
        limiter: perSecond(this.queue.smsBatchesPerSecond),
      },
    );
    this.start<SendAttemptJob>(
      QUEUE_NAMES.sendVoice,
      (job, token) => this.sendAttempt(job, token),
      {
        concurrency: this.num('SEND_VOICE_CONCURRENCY', 20),
        limiter: perSecond(this.num('TWILIO_CALLS_PER_SECOND', 1)),
      },
    );
    this.start<SendAttemptJob>(
      QUEUE_NAMES.sendEmail,
      (job, token) => this.sendAttempt(job, token),
      {
        concurrency: this.num('SEND_EMAIL_CONCURRENCY', 10),
        limiter: perSecond(this.num('EMAIL_PER_SECOND', 20)),
      },
    );
    // Robots are limited per robot (ProviderRateLimiter), not per queue.
    this.start<SendGroupJob>(QUEUE_NAMES.sendRobot, (job, token) => this.sendGroup(job, token), {
      concurrency: 5,
    });
    this.start<SendGroupJob>(
      QUEUE_NAMES.sendBroadcast,
      (job, token) => this.sendGroup(job, token),
      {
        concurrency: 2,
        limiter: perSecond(this.num('BROADCAST_PER_SECOND', 5)),
      },
    );
  }

  /**
   * One contact attempt. A provider whose circuit is open delays the job (no try spent); an
   * acceptance the database could not record stays in the job, whose next try records it
   * without sending again.
   */
  private async sendAttempt(job: Job<SendAttemptJob>, token?: string): Promise<string> {
    const out = await this.attempts.send(job.data.attemptId, isLastTry(job), job.data.accepted);
    if (out.kind === 'deferred') {
      await job.moveToDelayed(Date.now() + out.delayMs, token);
      throw new DelayedError();
    }
    if (out.kind === 'unrecorded') {
      await job.updateData({ ...job.data, accepted: out.accepted });
      throw new Error('the provider accepted the message but recording it failed: recording again');
    }
    return out.kind;
  }

  /** One group send (robot, loudspeaker): deferred or kept for recording as sendAttempt. */
  private async sendGroup(job: Job<SendGroupJob>, token?: string): Promise<string> {
    const out = await this.groups.send(job.data.groupSendId, isLastTry(job), job.data.accepted);
    if (out.kind === 'deferred') {
      await job.moveToDelayed(Date.now() + out.delayMs, token);
      throw new DelayedError();
    }
    if (out.kind === 'unrecorded') {
      await job.updateData({ ...job.data, accepted: out.accepted });
      throw new Error(
        'the provider accepted the group send but recording it failed: recording again',
      );
    }
    return out.kind;
  }

  private start<T>(
    name: QueueName,
    fn: (job: Job<T>, token?: string) => Promise<unknown>,
    opts: Partial<WorkerOptions>,
  ): void {
    const processor: Processor<T> = async (job, token) => fn(job, token);
    // A job whose worker died (kill -9) is taken up again once its lock has run out and the next
    // stalled-job check sees it: both QUEUE_LOCK_DURATION_MS (BullMQ's default, 30 s).
    const lock = this.num('QUEUE_LOCK_DURATION_MS', 30_000);
    const worker = new Worker<T>(name, processor, {
      connection: bullConnectionOptions(this.runtime.queue),
      prefix: this.config.get('QUEUE_PREFIX'),
      lockDuration: lock,
      stalledInterval: lock,
      ...opts,
    });
    worker.on('failed', (job, err) =>
      this.logger.warn(
        // The error as an error (its type and message); the logger masks phone numbers in it.
        { queue: name, jobId: job?.id, attemptsMade: job?.attemptsMade, err },
        'job failed',
      ),
    );
    // A stalled job runs again, possibly beside its first run if that one still lives (an event
    // loop held up past the lock): the send claims (SEND_CLAIM_LEASE_SECONDS) keep it to one send.
    worker.on('stalled', (jobId) =>
      this.logger.warn({ queue: name, jobId }, 'job lock ran out: the job runs again'),
    );
    worker.on('error', (err) => this.logger.error({ queue: name, err }, 'worker error'));
    this.workers.push(worker);
  }

  async onModuleDestroy(): Promise<void> {
    const ms = this.num('WORKER_STOP_TIMEOUT_MS', 10_000);
    await Promise.all(this.workers.map((w) => closeWorkerWithin(w, ms, this.logger)));
  }
}
