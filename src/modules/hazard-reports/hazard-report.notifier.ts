import { Injectable, Logger } from '@nestjs/common';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import { mustReachCity, reportStepSeconds, reportSteps } from '../../common/domain/hazard-grade';
import { HazardReportQueue } from './hazard-report.queue';
import { HazardReportSender } from './hazard-report.sender';
import { HazardReportChain } from './hazard-report.chain';
import { HazardReportsRepository, type NoticeToWrite } from './hazard-reports.repository';
import {
  COUNTY_ONLY_POLICY,
  type ChainLevel,
  ESCALATION_POLICY,
  reportAckPolicy,
} from './report-chain';

/** A report, or a notice, left behind by a process that died is picked up by the sweep after this. */
export const NOTIFY_GRACE_MS = 10_000;

/** What the deadline job found. */
export type DeadlineOutcome =
  | { kind: 'escalated' | 'not_needed' }
  /** The mark is still ahead (the job ran early): run again at `at`. */
  | { kind: 'early'; at: Date };

/**
 * Who is told of a report, and when: the first notices (county; for 特大型/大型 the city too, and
 * both called), the deadline timer at the 45-minute mark, and the escalation when the city has
 * not acknowledged by then. Used by the API (a new report) and by the hazard-reports worker (the
 * timer, and the sweep that rebuilds from Postgres what the queue backend lost).
 */
@Injectable()
export class HazardReportNotifier {
  private readonly logger = new Logger(HazardReportNotifier.name);

  constructor(
    private readonly repo: HazardReportsRepository,
    private readonly sender: HazardReportSender,
    private readonly queue: HazardReportQueue,
    private readonly audit: AuditService,
    private readonly chain: HazardReportChain,
  ) {}

  /** A new report: its deadline timer (when the city must be reached), then its first notices. */
  async start(reportId: string): Promise<void> {
    const report = await this.repo.find(reportId);
    if (report?.escalateAt)
      await this.queue.scheduleDeadline(report.id, new Date(report.escalateAt));
    await this.notifyClaimed(reportId);
  }

  /**
   * Claims the first notices of a report (once) and queues them: step 0 of its 叫应 chain. Every
   * duty officer of the county (and, for 特大型/大型, of the city) gets what the step planner gives
   * on their contact points — for 特大型/大型 an SMS and a call, and a chain per level that goes on
   * until it acknowledges; otherwise an SMS to the county. A failed one fails over (HazardReportChain).
   */
  async notifyClaimed(id: string): Promise<void> {
    const report = await this.repo.find(id);
    if (!report || report.notifiedAt) return;
    const city = mustReachCity(report.grade);
    const levels: ChainLevel[] = city ? ['county', 'city'] : ['county'];
    // The claim and, for 特大型/大型, the chains of both levels: one transaction.
    const claimed = await this.repo.db.transaction(async (m) => {
      const [c] = await rows<{ id: string }>(
        m,
        `UPDATE hazard_reports SET notified_at = now() WHERE id = $1 AND notified_at IS NULL RETURNING id`,
        [id],
      );
      if (c && city) await this.chain.startIn(m, id, levels);
      return !!c;
    });
    if (!claimed) return;
    if (city) await this.chain.scheduleFirstStep(id);
    const policy = city ? reportAckPolicy(reportStepSeconds(), reportSteps()) : COUNTY_ONLY_POLICY;
    const notices: NoticeToWrite[] = [];
    let recipients = 0;
    let unreachable = 0;
    for (const level of levels) {
      const people = await this.chain.recipientsOf(report, level);
      recipients += people.length;
      const planned = this.chain.plan(report.id, 'report', people, policy, 0);
      notices.push(...planned.notices);
      unreachable += planned.unreachable;
    }
    const result = await this.sender.notify(notices);
    if (unreachable)
      this.logger.warn(
        { reportId: report.id, people: unreachable },
        'duty officers without a contact point the first step can use',
      );
    await this.audit.append([
      {
        actor: 'system',
        action: 'hazard_report.notified',
        subjectType: 'hazard_report',
        subjectId: report.id,
        data: {
          recipients,
          sms: notices.filter((n) => n.channel === 'sms').length,
          calls: notices.filter((n) => n.channel === 'voice').length,
          queued: result.queued,
          chain: city,
        },
      },
    ]);
  }

  /**
   * The deadline job: at the mark, a report the city has not acknowledged is flagged and escalated
   * (once, whichever process runs it): a 催报 SMS and a call to the city duty office, an SMS to the
   * county's responsible persons.
   */
  async onDeadline(reportId: string): Promise<DeadlineOutcome> {
    const report = await this.repo.find(reportId);
    if (!report?.escalateAt || report.escalatedAt) return { kind: 'not_needed' };
    const at = new Date(report.escalateAt);
    if (at.getTime() > Date.now()) return { kind: 'early', at };
    const claimed = await this.repo.db.transaction(async (m) => {
      const [c] = await rows<{ id: string; minutes: number }>(
        m,
        `UPDATE hazard_reports r SET escalated_at = now(), flagged_at = now()
          WHERE r.id = $1 AND r.escalate_at <= now() AND r.escalated_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM hazard_report_acks a WHERE a.report_id = r.id AND a.level = 'city')
        RETURNING r.id, floor(extract(epoch FROM now() - r.created_at) / 60)::int AS minutes`,
        [reportId],
      );
      if (c) {
        await this.audit.append(
          [
            {
              actor: 'system',
              action: 'hazard_report.escalated',
              subjectType: 'hazard_report',
              subjectId: c.id,
              data: { reason: 'city_not_acknowledged', minutes: c.minutes, flagged: true },
            },
          ],
          m,
        );
      }
      return c;
    });
    if (!claimed) return { kind: 'not_needed' };
    // The city duty office is texted and called again on every contact point (failing over), the
    // county's responsible persons texted: planned by the step planner as every other notice.
    const cityOffice = await this.chain.recipientsOf(report, 'city');
    const responsible = await this.chain.recipientsOf(report, 'county_responsible');
    const step = (await this.repo.chains(report.id)).find((c) => c.level === 'city')?.step ?? 0;
    const planned = [
      ...this.chain.plan(report.id, 'escalation', cityOffice, ESCALATION_POLICY.city, step).notices,
      ...this.chain.plan(
        report.id,
        'escalation',
        responsible,
        ESCALATION_POLICY.county_responsible,
        step,
      ).notices,
    ];
    const result = await this.sender.notify(planned);
    this.logger.warn(
      { reportId: report.id, queued: result.queued },
      'hazard report escalated: city silent',
    );
    return { kind: 'escalated' };
  }

  /**
   * Rebuilds from Postgres what the queue backend may have lost (at boot and by the sweep): the
   * first notices of a report whose process died before claiming them, notices whose jobs are
   * gone, and the deadline timer of every report still waiting for its mark.
   */
  async sweep(): Promise<void> {
    const unnotified = await rows<{ id: string }>(
      this.repo.db,
      `SELECT id FROM hazard_reports
        WHERE notified_at IS NULL AND created_at < now() - $1::int * interval '1 millisecond'
        ORDER BY created_at LIMIT 100`,
      [NOTIFY_GRACE_MS],
    );
    for (const { id } of unnotified) await this.notifyClaimed(id);
    for (const { id } of await this.repo.openNotices(NOTIFY_GRACE_MS)) {
      await this.queue.ensureNotice(id);
    }
    const pending = await rows<{ id: string; escalateAt: Date }>(
      this.repo.db,
      `SELECT r.id, r.escalate_at AS "escalateAt" FROM hazard_reports r
        WHERE r.escalate_at IS NOT NULL AND r.escalated_at IS NULL AND r.state = 'open'
          AND NOT EXISTS (SELECT 1 FROM hazard_report_acks a WHERE a.report_id = r.id AND a.level = 'city')
        ORDER BY r.escalate_at LIMIT 1000`,
    );
    for (const p of pending) {
      const done = await this.queue.ensureDeadline(p.id, new Date(p.escalateAt));
      if (done !== 'present')
        this.logger.warn({ reportId: p.id, done }, 'hazard report deadline timer rebuilt');
    }
    await this.chain.ensureTimers();
  }
}
