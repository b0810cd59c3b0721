import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { jobPriority } from '../../common/queue/queue-names';
import type { ChannelKind } from '../../channels/channel.types';
import type { WarningKind, WarningLevel } from '../warnings/warning.types';
import { DispatchQueue } from './dispatch-queue.service';

/**
 * Expiry, and the recovery sweep that makes "accepted" mean "delivered or accounted for": rows are
 * written before jobs are enqueued, so anything whose enqueue was lost (a crash, Redis down) is
 * found here and enqueued again under the same deterministic job id.
 */
@Injectable()
export class LifecycleService {
  private readonly logger = new Logger(LifecycleService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly queue: DispatchQueue,
  ) {}

  /** Ends a warning at `expires`: queued sends stop. An update may have moved `expires` later. */
  async expire(warningId: string): Promise<void> {
    const [w] = await this.db.query(`SELECT state, expires_at FROM warnings WHERE id = $1`, [
      warningId,
    ]);
    if (!w || w.state !== 'active') return;
    // Moved later by an update, which scheduled its own timer.
    if (new Date(w.expires_at).getTime() > Date.now() + 1000) return;
    await this.db.transaction(async (m) => {
      await m.query(
        `UPDATE warnings SET state = 'expired', expired_at = now() WHERE id = $1 AND state = 'active'`,
        [warningId],
      );
      await m.query(
        `UPDATE contact_attempts SET status = 'cancelled', outcome = 'warning_expired' WHERE warning_id = $1 AND status = 'queued'`,
        [warningId],
      );
      await m.query(
        `UPDATE group_sends SET status = 'cancelled' WHERE warning_id = $1 AND status = 'queued'`,
        [warningId],
      );
    });
    this.logger.log({ warningId }, 'warning expired');
  }

  async recover(): Promise<void> {
    // Versions whose fan-out never finished (the job may be lost): enqueue it again.
    const pending = await this.db.query<
      { id: string; version: number; kind: WarningKind; level: WarningLevel }[]
    >(
      `SELECT w.id, w.current_version AS version, w.kind, v.level FROM warnings w
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
        WHERE w.fanout_done_at IS NULL AND w.created_at < now() - interval '30 seconds'`,
    );
    for (const w of pending)
      await this.queue.enqueueFanout(
        { warningId: w.id, version: w.version },
        jobPriority(w.kind, w.level),
      );

    // Overdue expiries.
    const overdue = await this.db.query<{ id: string }[]>(
      `SELECT id FROM warnings WHERE state = 'active' AND expires_at < now()`,
    );
    for (const w of overdue) await this.expire(w.id);

    // Attempts and group sends still queued a while after they were written: re-enqueue (no-op if the job exists).
    const attempts = await this.db.query<{ id: string; channel: ChannelKind; priority: number }[]>(
      `SELECT id, channel, priority FROM contact_attempts WHERE status = 'queued' AND queued_at < now() - interval '60 seconds' LIMIT 10000`,
    );
    await this.queue.enqueueAttempts(attempts);
    const groups = await this.db.query<{ id: string; channel: ChannelKind }[]>(
      `SELECT id, channel FROM group_sends WHERE status = 'queued' AND queued_at < now() - interval '60 seconds' LIMIT 10000`,
    );
    await this.queue.enqueueGroupSends(groups.map((g) => ({ ...g, priority: 1 })));

    // 叫应 step timers overdue by a minute (their job lost with a queue backend's data): scheduled
    // again under the same deterministic id, so an existing timer is not doubled, and the handler's
    // compare-and-set on the step makes a late one harmless.
    const overdueSteps = await this.db.query<
      { deliveryId: string; version: number; step: number }[]
    >(
      `SELECT d.id AS "deliveryId", d.version, d.step FROM deliveries d
         JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
         JOIN escalation_policies p ON p.id = d.policy_id
        WHERE d.step > 0 AND d.step <= jsonb_array_length(p.steps)
          AND d.state NOT IN ('confirmed', 'declined', 'cancelled')
          AND d.step_started_at + make_interval(secs => (p.steps -> (d.step - 1) ->> 'waitSeconds')::int + 60) < now()
        LIMIT 10000`,
    );
    await this.queue.scheduleSteps(overdueSteps.map((o) => ({ ...o, delayMs: 0 })));
  }
}
