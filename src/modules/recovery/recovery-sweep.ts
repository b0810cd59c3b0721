import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EscalationService } from '../dispatch/escalation.service';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { LifecycleService } from '../dispatch/lifecycle.service';
import { SilentSendsService } from '../responses/silent-sends.service';

/** One sweep at a time across every worker process (a session advisory lock). */
const SWEEP_LOCK_KEY = 7_263_203;

/**
 * The recovery sweep (lost enqueues, stuck sends, overdue expiries and timers, unfinished 叫应
 * follow-ups, statuses whose callbacks never came), run by a timer in each worker process rather than by a schedule kept in the queue
 * backend: a Redis that lost its data (or was emptied) cannot lose the sweep that rebuilds what
 * it lost from Postgres. Processes take turns through a Postgres advisory lock.
 */
@Injectable()
export class RecoverySweep implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RecoverySweep.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(ConfigService) private readonly config: ConfigService,
    private readonly lifecycle: LifecycleService,
    private readonly escalation: EscalationService,
    private readonly queue: DispatchQueue,
    private readonly silent: SilentSendsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The sweep used to be a job scheduler in the queue backend: removed where it still exists.
    await this.queue.removeRecoverySchedule();
    const every = Number(this.config.get('RECOVERY_INTERVAL_MS') ?? 30_000);
    this.timer = setInterval(() => void this.run(), every);
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One sweep, unless this process or another one is sweeping now. True when it ran. */
  async run(): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    const runner = this.db.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock($1) AS locked`, [
        SWEEP_LOCK_KEY,
      ]);
      if (!locked) return false;
      try {
        await this.lifecycle.recover();
        await this.escalation.recover();
        await this.silent.poll();
        return true;
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [SWEEP_LOCK_KEY]);
      }
    } catch (err) {
      this.logger.error({ err }, 'recovery sweep failed; the next one tries again');
      return false;
    } finally {
      this.running = false;
      await runner.release();
    }
  }
}
