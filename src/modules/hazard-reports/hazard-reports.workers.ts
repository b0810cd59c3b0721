import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DelayedError, type Job, Worker } from 'bullmq';
import { type HazardReportJob, QUEUE_NAMES } from '../../common/queue/queue-names';
import { GATEWAY_RUNTIME, type GatewayRuntime } from '../../common/runtime.token';
import { closeWorkerWithin } from '../../common/queue/close-worker';
import { bullConnectionOptions } from '../../runtime/queue-backend';
import { escalateAfterSeconds, sweepIntervalMs } from '../../common/domain/hazard-grade';
import { HazardReportChain } from './hazard-report.chain';
import { HazardReportNotifier } from './hazard-report.notifier';
import { HazardReportSender } from './hazard-report.sender';

const isLastTry = (job: Job) => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

/**
 * The hazard-reports worker (ROLE=worker or all): sends each notice (HazardReportSender.deliver)
 * and runs each report's deadline timer and the step timers of its 叫应 chain. At boot, and every HAZARD_REPORT_SWEEP_MS, the sweep
 * rebuilds from Postgres the jobs the queue backend lost.
 */
@Injectable()
export class HazardReportWorkers implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(HazardReportWorkers.name);
  private worker?: Worker<HazardReportJob>;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private stopped = false;

  constructor(
    @Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime,
    private readonly config: ConfigService,
    private readonly sender: HazardReportSender,
    private readonly notifier: HazardReportNotifier,
    private readonly chain: HazardReportChain,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    escalateAfterSeconds(); // a bad value stops the boot, naming the variable
    const interval = sweepIntervalMs();
    this.worker = new Worker<HazardReportJob>(
      QUEUE_NAMES.hazardReports,
      async (job, token) => this.process(job, token),
      {
        connection: bullConnectionOptions(this.runtime.queue),
        prefix: this.config.get('QUEUE_PREFIX'),
        concurrency: 5,
      },
    );
    this.worker.on('failed', (job, err) =>
      this.logger.warn(
        { queue: QUEUE_NAMES.hazardReports, jobId: job?.id, attemptsMade: job?.attemptsMade, err },
        'job failed',
      ),
    );
    this.worker.on('error', (err) =>
      this.logger.error({ queue: QUEUE_NAMES.hazardReports, err }, 'worker error'),
    );
    // At boot: whatever the queue backend lost while nothing ran (a flushed Redis) comes back.
    await this.runSweep();
    this.timer = setInterval(() => void this.runSweep(), interval);
    this.timer.unref();
  }

  private runSweep(): Promise<void> {
    if (this.sweeping || this.stopped) return this.sweeping ?? Promise.resolve();
    this.sweeping = this.notifier
      .sweep()
      .catch((err: unknown) => this.logger.warn({ err: String(err) }, 'hazard report sweep failed'))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async process(job: Job<HazardReportJob>, token?: string): Promise<string> {
    const data = job.data;
    if (data.type === 'deadline') {
      const out = await this.notifier.onDeadline(data.reportId);
      if (out.kind === 'early') {
        await job.moveToDelayed(out.at.getTime(), token);
        throw new DelayedError();
      }
      return out.kind;
    }
    if (data.type === 'step') {
      const out = await this.chain.onStep(data.reportId, data.step);
      if (out.kind === 'early') {
        await job.moveToDelayed(out.at.getTime(), token);
        throw new DelayedError();
      }
      return out.kind;
    }
    const out = await this.sender.deliver(data.noticeId, isLastTry(job), data.accepted);
    // Refused for good (a permanent error, or the last try): the next contact point is tried.
    if (out.kind === 'failed') await this.chain.failover(data.noticeId, 'rejected');
    if (out.kind === 'deferred') {
      await job.moveToDelayed(Date.now() + out.delayMs, token);
      throw new DelayedError();
    }
    if (out.kind === 'unrecorded') {
      await job.updateData({ ...data, accepted: out.accepted });
      throw new Error('the provider accepted the notice but recording it failed: recording again');
    }
    return out.kind;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
    if (this.worker)
      await closeWorkerWithin(
        this.worker,
        Number(this.config.get('WORKER_STOP_TIMEOUT_MS') ?? 10_000),
        this.logger,
      );
  }
}
