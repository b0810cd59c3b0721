import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import { QUEUE_NAMES } from '../../common/queue/queue-names';
import { GATEWAY_RUNTIME, type GatewayRuntime } from '../../common/runtime.token';
import { AuditService } from './audit.service';

/** How often the sealer runs (AUDIT_SEAL_INTERVAL_MS; 0 turns it off in this process). */
export const DEFAULT_SEAL_INTERVAL_MS = 2000;

/**
 * Runs AuditService.seal() on a timer in gateway processes that run workers (ROLE=worker or
 * all; not in the CLI, which has no queues). Any number of processes may run it: the seal takes
 * turns through an advisory lock. A failed run is logged and the next one catches up.
 */
@Injectable()
export class AuditSealer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditSealer.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastErrorLogged = 0;

  constructor(
    private readonly audit: AuditService,
    @Optional() @Inject(GATEWAY_RUNTIME) private readonly runtime?: GatewayRuntime,
    // Present in gateway processes only: the CLI registers no queues.
    @Optional() @Inject(getQueueToken(QUEUE_NAMES.lifecycle)) private readonly queue?: unknown,
  ) {}

  onApplicationBootstrap(): void {
    const every = Number(process.env.AUDIT_SEAL_INTERVAL_MS ?? DEFAULT_SEAL_INTERVAL_MS);
    if (!this.runtime || this.runtime.role === 'api' || !this.queue) return;
    if (!Number.isFinite(every) || every <= 0) return;
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.audit
      .seal()
      .then(() => undefined)
      .catch((err: unknown) => {
        // Once a minute at most while the database is away.
        if (Date.now() - this.lastErrorLogged > 60_000) {
          this.lastErrorLogged = Date.now();
          this.logger.warn({ err }, 'audit seal failed; the next run catches up');
        }
      })
      .finally(() => {
        this.running = undefined;
      });
  }
}
