import {
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { positive } from '../../common/config-number';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { unavailableOf } from '../../common/errors/http-exception.filter';
import { QUEUE_NAMES } from '../../common/queue/queue-names';
import { GATEWAY_RUNTIME, type GatewayRuntime } from '../../common/runtime.token';
import { closeWorkerWithin } from '../../common/queue/close-worker';
import { bullConnectionOptions } from '../../runtime/queue-backend';
import { AuditService } from '../audit/audit.service';
import { withLateReason } from '../chain/answers.types';
import { InboundEvents } from './inbound-events';
import { type InboundSpoolJob, SPOOL_BACKOFF } from './inbound-spool';
import { ResponsesModule } from './responses.module';

/** Tries of an event that fails on something else than an unreachable database. */
const OTHER_ERROR_TRIES = 5;

/** The retry delay of a spooled event: `base` doubling with each try, at most `max`. */
export function spoolRetryDelay(attemptsMade: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.min(30, Math.max(0, attemptsMade - 1)));
}

/**
 * Applies the inbound spool (see InboundSpool) through the same code path as the webhooks, with
 * the time each event was received. While Postgres stays unreachable the event is retried (the
 * delay doubling up to INBOUND_SPOOL_RETRY_MAX_MS); an event refused for another reason is tried a
 * few times and then kept as failed (visible in /health), never dropped silently. Each event
 * applied leaves an `inbound.applied_late` audit event (what it was, when it was received, how late
 * it was applied); the answer it records notes the delay too.
 */
@Injectable()
export class InboundSpoolWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(InboundSpoolWorker.name);
  private worker?: Worker<InboundSpoolJob>;

  constructor(
    @Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime,
    @Inject(ConfigService) private readonly config: ConfigService,
    private readonly inbound: InboundEvents,
    private readonly audit: AuditService,
  ) {}

  onApplicationBootstrap(): void {
    const base = Number(this.config.get('INBOUND_SPOOL_RETRY_MS') ?? 1000);
    const max = Number(this.config.get('INBOUND_SPOOL_RETRY_MAX_MS') ?? 30_000);
    this.worker = new Worker<InboundSpoolJob>(QUEUE_NAMES.inbound, (job) => this.apply(job), {
      connection: bullConnectionOptions(this.runtime.queue),
      prefix: this.config.get('QUEUE_PREFIX'),
      concurrency: positive(this.config.get('INBOUND_SPOOL_CONCURRENCY'), 32),
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string) =>
          type === SPOOL_BACKOFF ? spoolRetryDelay(attemptsMade, base, max) : base,
      },
    });
    this.worker.on('failed', (job, err) => {
      // While the database is away every try fails: only the first and a give-up are worth a line.
      if (job && job.attemptsMade > 1 && !(err instanceof UnrecoverableError)) return;
      const e = err as { code?: unknown; message?: unknown };
      this.logger.warn(
        {
          jobId: job?.id,
          type: job?.data.event.type,
          attemptsMade: job?.attemptsMade,
          code: e.code,
          reason: e.message,
        },
        err instanceof UnrecoverableError
          ? 'spooled inbound event given up (kept as failed)'
          : 'spooled inbound event not applied yet: retrying',
      );
    });
    this.worker.on('error', (err) => this.logger.error({ err }, 'inbound spool worker error'));
  }

  async apply(job: Job<InboundSpoolJob>): Promise<void> {
    const { event, receivedAt, reason = 'database_unavailable' } = job.data;
    const received = new Date(receivedAt);
    try {
      await withLateReason(reason, () => this.inbound.apply(event, received));
      const applied = new Date();
      await this.audit.append([
        {
          actor: event.type === 'link' ? 'link' : 'provider:twilio',
          action: 'inbound.applied_late',
          subjectType: 'inbound_event',
          subjectId: String(job.id),
          data: {
            type: event.type,
            ...(event.type === 'gather'
              ? { attemptId: event.attemptId, digits: event.digits }
              : event.type === 'link'
                ? { deliveryId: event.deliveryId, answer: event.answer }
                : {}),
            receivedAt,
            appliedAt: applied.toISOString(),
            delaySeconds: Math.round((applied.getTime() - received.getTime()) / 1000),
            reason,
            tries: job.attemptsMade + 1,
          },
        },
      ]);
    } catch (err) {
      if (unavailableOf(err)) throw err; // the database is still away: tried again later
      if (err instanceof AppException && err.code === ErrorCode.NotFound)
        throw new UnrecoverableError(err.message);
      if (job.attemptsMade + 1 >= OTHER_ERROR_TRIES)
        throw new UnrecoverableError((err as Error).message);
      throw err;
    }
  }

  async onModuleDestroy(): Promise<void> {
    if (this.worker)
      await closeWorkerWithin(
        this.worker,
        Number(this.config.get('WORKER_STOP_TIMEOUT_MS') ?? 10_000),
        this.logger,
      );
  }
}

/** The inbound spool's worker (ROLE=worker or all). */
@Module({ imports: [ResponsesModule], providers: [InboundSpoolWorker] })
export class ResponsesWorkersModule {}
