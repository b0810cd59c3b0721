import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** What /health says of the work itself, from Postgres (the record the queues are rebuilt from). */
export interface WorkState {
  state: 'ok' | 'degraded';
  /** Sends waiting to be handed to a provider. */
  queuedSends: number;
  /** …of which waited longer than HEALTH_OVERDUE_SECONDS. */
  overdueSends: number;
  oldestQueuedSeconds: number | null;
  /** 叫应 step timers later than HEALTH_OVERDUE_SECONDS (counted up to 1000). */
  lateTimers: number;
}

/**
 * Overdue work: sends that have waited too long in the queue (the provider down, the workers
 * stopped, jobs lost with the queue backend's data) and 叫应 step timers that did not fire. Up
 * with the counts either way; "degraded" when anything is overdue.
 */
@Injectable()
export class WorkHealthIndicator {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(ConfigService) private readonly config: ConfigService,
    private readonly health: HealthIndicatorService,
  ) {}

  async state(): Promise<WorkState> {
    const overdue = Number(this.config.get('HEALTH_OVERDUE_SECONDS') ?? 300);
    const [row] = await this.db.query(
      `SELECT count(*)::int AS "queuedSends",
              count(*) FILTER (WHERE queued_at < now() - make_interval(secs => $1))::int AS "overdueSends",
              extract(epoch FROM now() - min(queued_at))::int AS "oldestQueuedSeconds",
              (SELECT count(*)::int FROM (
                 SELECT 1 FROM deliveries d
                   JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
                   JOIN escalation_policies p ON p.id = d.policy_id
                  WHERE d.step > 0 AND d.step <= jsonb_array_length(p.steps)
                    AND d.state NOT IN ('confirmed', 'declined', 'cancelled')
                    AND d.step_started_at + make_interval(secs => (p.steps -> (d.step - 1) ->> 'waitSeconds')::int + $1) < now()
                  LIMIT 1000) late) AS "lateTimers"
         FROM contact_attempts WHERE status = 'queued'`,
      [overdue],
    );
    const degraded = row.overdueSends > 0 || row.lateTimers > 0;
    return { state: degraded ? 'degraded' : 'ok', ...row };
  }

  async check(key = 'work') {
    const indicator = this.health.check(key);
    try {
      return indicator.up({ ...(await this.state()) });
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }
}
