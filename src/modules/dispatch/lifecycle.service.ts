import { ConfigService } from '@nestjs/config';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { jobPriority } from '../../common/queue/queue-names';
import type { ChannelKind } from '../../channels/channel.types';
import type { WarningKind, WarningLevel } from '../../common/domain/warning.types';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { DispatchRepository } from './dispatch.repository';
import { SendMoves } from '../chain/send-moves.repository';
import { SendAttemptService } from './send-attempt.service';

/** A send still `sending` this long after its last claim has no try left in flight. */
export const STUCK_SEND_AFTER_SECONDS = 300;
/** Rounds of a send job (SEND_RETRY_ATTEMPTS tries each) before a stuck send is given up. */
const STUCK_SEND_ROUNDS = 3;

/**
 * Expiry, and the recovery sweep that makes "accepted" mean "delivered or accounted for": rows are
 * written before jobs are enqueued, so anything whose enqueue was lost (a crash, Redis down) is
 * found here and enqueued again under the same deterministic job id.
 */
/**
 * People every attempt of whose message failed at least 30 s ago (none queued, sending or sent,
 * none failed more recently) but still `pending` or `sent`: the attempt that failed last of each
 * (at most 1,000). Found from the failed attempts of active warnings (a partial index holds only
 * failed attempts), so a sweep reads what failed, not every open delivery: at a million people
 * the search over every open delivery took seconds a sweep.
 */
export const STRANDED_SQL = `
  SELECT DISTINCT ON (d.id) f.id AS "attemptId"
    FROM warnings w
    JOIN contact_attempts f ON f.warning_id = w.id AND f.status = 'failed'
    JOIN deliveries d ON d.id = f.delivery_id AND d.version = f.version
   WHERE w.state = 'active' AND d.state IN ('pending', 'sent')
     AND NOT EXISTS (SELECT 1 FROM contact_attempts a WHERE a.delivery_id = d.id AND a.version = d.version
                        AND (a.status NOT IN ('failed', 'cancelled') OR a.failed_at > now() - interval '30 seconds'))
   ORDER BY d.id, f.failed_at DESC NULLS LAST
   LIMIT 1000`;

@Injectable()
export class LifecycleService {
  private readonly logger = new Logger(LifecycleService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly queue: DispatchQueue,
    private readonly repo: DispatchRepository,
    private readonly sendMoves: SendMoves,
    private readonly sender: SendAttemptService,
    private readonly audit: AuditService,
    private readonly config: ConfigService,
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
      const [moved] = await rows(
        m,
        // The time is checked again here: an update that moved \`expires\` later since the read wins.
        `UPDATE warnings SET state = 'expired', expired_at = now()
          WHERE id = $1 AND state = 'active' AND expires_at <= now() + interval '1 second' RETURNING id`,
        [warningId],
      );
      // Expired by another run (a retried job, the recovery sweep), which recorded it, cancelled
      // meanwhile (its release notices are queued and must go out), or moved later: nothing to do.
      if (!moved) return;
      // Counted, not listed: a county-wide warning may have many thousands still queued.
      const attempts = {
        n: await this.sendMoves.cancelQueuedOfWarning(m, warningId, 'warning_expired'),
      };
      const [groups] = await rows<{ n: number }>(
        m,
        `WITH c AS (
           UPDATE group_sends SET status = 'cancelled' WHERE warning_id = $1 AND status = 'queued' RETURNING 1)
         SELECT count(*)::int AS n FROM c`,
        [warningId],
      );
      await this.audit.append(
        [
          {
            actor: 'system',
            action: 'warning.expired',
            subjectType: 'warning',
            subjectId: warningId,
            warningId,
            data: { attemptsCancelled: attempts.n, groupSendsCancelled: groups.n },
          },
        ],
        m,
      );
    });
    this.logger.log({ warningId }, 'warning expired');
  }

  async recover(): Promise<void> {
    // How long a send, a fan-out (half of it) or a step timer may wait for its job before its job
    // is taken for lost and brought back (RECOVERY_REQUEUE_AFTER_SECONDS, default 60 s).
    const after = Number(this.config.get('RECOVERY_REQUEUE_AFTER_SECONDS') ?? 60);
    // Versions whose fan-out never finished (the job may be lost): enqueue it again.
    const pending = await this.db.query<
      { id: string; version: number; kind: WarningKind; level: WarningLevel }[]
    >(
      `SELECT w.id, w.current_version AS version, w.kind, v.level FROM warnings w
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
        WHERE w.fanout_done_at IS NULL AND w.created_at < now() - make_interval(secs => $1::int / 2)`,
      [after],
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

    // Attempts and group sends still queued a while after they were written: re-enqueue (no-op if
    // the job exists). An attempt of a send batch whose job will still run is left to it (at a
    // provider's real rate, a large warning's batches wait their turn for many minutes); one whose
    // batch job was lost or ended goes on alone.
    const attempts = await this.db.query<
      { id: string; channel: ChannelKind; priority: number; sendBatch: string | null }[]
    >(
      `SELECT id, channel, priority, send_batch AS "sendBatch" FROM contact_attempts
        WHERE status = 'queued' AND queued_at < now() - make_interval(secs => $1) LIMIT 10000`,
      [after],
    );
    const batched = attempts.flatMap((a) => (a.sendBatch ? [a.sendBatch] : []));
    const stillRun = batched.length ? await this.queue.batchesPending(batched) : new Set<string>();
    await this.queue.enqueueAttempts(
      attempts
        .filter((a) => !a.sendBatch || !stillRun.has(a.sendBatch))
        .map((a) => ({ id: a.id, channel: a.channel, priority: a.priority })),
    );
    const groups = await this.db.query<{ id: string; channel: ChannelKind }[]>(
      `SELECT id, channel FROM group_sends WHERE status = 'queued' AND queued_at < now() - make_interval(secs => $1) LIMIT 10000`,
      [after],
    );
    await this.queue.enqueueGroupSends(groups.map((g) => ({ ...g, priority: 1 })));

    // 叫应 step timers overdue by a minute (their job lost with a queue backend's data): the due
    // times are in Postgres. Per warning version and step, the timer of the earliest overdue second
    // is brought back (added, or run again); it advances every delivery due by then, and the
    // step guard of its statement makes a late or repeated one harmless.
    const overdueSteps = await this.db.query<
      { warningId: string; version: number; step: number; second: string }[]
    >(
      `SELECT d.warning_id AS "warningId", d.version, d.step,
              floor(extract(epoch FROM min(d.step_due_at)))::bigint AS second
         FROM deliveries d JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
        WHERE d.step_due_at < now() - make_interval(secs => $1) AND d.step > 0
          AND d.state NOT IN ('confirmed', 'declined', 'cancelled')
        GROUP BY d.warning_id, d.version, d.step`,
      [after],
    );
    for (const o of overdueSteps)
      if (await this.queue.reviveStepTimer({ ...o, second: Number(o.second) }))
        this.logger.warn(o, 'overdue step timer brought back');

    await this.recoverStuckSends();
    await this.recoverFailedOver();
  }

  /**
   * People every attempt of whose message failed at least 30 s ago but who are still `pending` or
   * `sent`: the handling of their last failure (fail over, or unreachable) was cut short, e.g. the
   * database went away after the failure was recorded and the provider does not post its callback
   * again. It is carried out now: their next untried contact point, or unreachable with the reason.
   */
  async recoverFailedOver(): Promise<void> {
    const stranded = await this.db.query<{ attemptId: string }[]>(STRANDED_SQL);
    for (const s of stranded) {
      const row = await this.repo.findAttempt(s.attemptId);
      if (row?.status !== 'failed') continue;
      await this.sender.failover(row);
      this.logger.warn({ deliveryId: row.deliveryId }, 'failure handling cut short: carried out');
    }
  }

  /**
   * Sends left in `sending`: every try of their job failed on something other than the provider
   * (the database gone at the moment of recording, a crash between claim and send). Their job is
   * run again; after a few rounds an attempt is failed and the person's chain fails over to their
   * next contact point, and a group send is failed. Either way it is accounted for.
   */
  /** SendAttemptService.reconcile, with a provider that cannot be asked taken for "not there". */
  private async reconciled(attemptId: string): Promise<boolean> {
    try {
      return await this.sender.reconcile(attemptId);
    } catch (err) {
      this.logger.warn({ attemptId, err }, 'could not ask the provider about a stuck send');
      return false;
    }
  }

  async recoverStuckSends(): Promise<void> {
    const maxTries = this.queue.sendRetry.attempts * STUCK_SEND_ROUNDS;
    const attempts = await this.db.query<
      { id: string; channel: ChannelKind; priority: number; tries: number; warningId: string }[]
    >(
      `SELECT id, channel, priority, tries, warning_id AS "warningId" FROM contact_attempts
        WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => $1) LIMIT 1000`,
      [STUCK_SEND_AFTER_SECONDS],
    );
    for (const a of attempts) {
      // The provider accepted it and only the recording was lost: record it, never resend.
      const accepted = await this.queue.acceptedOf(a);
      if (accepted) {
        await this.sendMoves.markSent(
          a.id,
          accepted.provider,
          accepted.providerId,
          accepted.segments,
        );
        this.logger.warn(
          { attemptId: a.id },
          'stuck attempt: the provider had accepted it; recorded',
        );
        continue;
      }
      // Nothing kept of its outcome: ask the provider whether it has it before sending again.
      if (await this.reconciled(a.id)) continue;
      if (a.tries >= maxTries) {
        await this.sendMoves.fail(
          a.id,
          'send_lost',
          `no try of the send job recorded a result (${a.tries} tries)`,
        );
        const row = await this.repo.findAttempt(a.id);
        if (row?.status === 'failed') await this.sender.failover(row);
        this.logger.warn({ attemptId: a.id, tries: a.tries }, 'stuck attempt failed over');
        continue;
      }
      if (!(await this.queue.revive('attempt', a))) continue;
      await this.audit.append([
        {
          actor: 'system',
          action: 'attempt.revived',
          subjectType: 'attempt',
          subjectId: a.id,
          warningId: a.warningId,
          data: { tries: a.tries },
        },
      ]);
      this.logger.warn({ attemptId: a.id, tries: a.tries }, 'stuck attempt sent again');
    }

    const groups = await this.db.query<
      { id: string; channel: ChannelKind; tries: number; warningId: string }[]
    >(
      `SELECT id, channel, tries, warning_id AS "warningId" FROM group_sends
        WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => $1) LIMIT 1000`,
      [STUCK_SEND_AFTER_SECONDS],
    );
    for (const g of groups) {
      // The provider accepted it and only the recording was lost: record it, never resend.
      const accepted = await this.queue.acceptedOfGroup(g);
      if (accepted) {
        await this.db.query(
          `UPDATE group_sends SET status = 'sent', provider_id = $2, sent_at = coalesce(sent_at, now())
            WHERE id = $1 AND status = 'sending'`,
          [g.id, accepted.providerId],
        );
        continue;
      }
      if (g.tries >= maxTries) {
        await this.db.query(
          `UPDATE group_sends SET status = 'failed', error_code = 'send_lost', error_message = $2, failed_at = now()
            WHERE id = $1 AND status = 'sending'`,
          [g.id, `no try of the send job recorded a result (${g.tries} tries)`],
        );
        this.logger.warn({ groupSendId: g.id, tries: g.tries }, 'stuck group send failed');
        continue;
      }
      if (await this.queue.revive('group', { ...g, priority: 1 }))
        this.logger.warn({ groupSendId: g.id, tries: g.tries }, 'stuck group send sent again');
    }
  }
}
