import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { type PersonChannel, planFailover, planStep } from '../chain/contact-plan';
import type { PolicyStep } from '../chain/escalation-policy.types';
import { reportStepSeconds, reportSteps } from '../../common/domain/hazard-grade';
import { HazardReportQueue } from './hazard-report.queue';
import {
  type ChainRow,
  type HazardReportRow,
  HazardReportsRepository,
  type NoticeRow,
  type NoticeToWrite,
  type Recipient,
} from './hazard-reports.repository';
import { type ChainLevel, FAILOVER_OUTCOMES, failsOver, reportAckPolicy } from './report-chain';

/** What a step job found. */
export type StepOutcome =
  | { kind: 'advanced' | 'exhausted' | 'not_needed' }
  /** The step is not due yet (the job ran early): run again at `at`. */
  | { kind: 'early'; at: Date };

/**
 * The 叫应 chain of a report (see report-chain.ts): plans each step's SMS and calls with the chain
 * core's step planner, fails a failed or unanswered notice over to the person's next contact point,
 * advances a level that has not acknowledged when its step's wait runs out, and ends it
 * (`exhausted`) after the last step. Every move is guarded in SQL and audited.
 */
@Injectable()
export class HazardReportChain {
  private readonly logger = new Logger(HazardReportChain.name);

  constructor(
    private readonly repo: HazardReportsRepository,
    private readonly queue: HazardReportQueue,
    private readonly audit: AuditService,
  ) {}

  private policy(): { steps: PolicyStep[] } {
    return reportAckPolicy(reportStepSeconds(), reportSteps());
  }

  /**
   * The notices of one step for the people of a level: per person, what the step planner gives
   * for the step's channels on their contact points. People with nothing that fits are answered
   * apart (logged by the caller, without numbers).
   */
  plan(
    reportId: string,
    purpose: NoticeRow['purpose'],
    recipients: Recipient[],
    policy: { steps: PolicyStep[] },
    step: number,
  ): { notices: NoticeToWrite[]; unreachable: number } {
    const notices: NoticeToWrite[] = [];
    let unreachable = 0;
    for (const r of recipients) {
      const planned = planStep(policy, Math.min(step, policy.steps.length - 1), r.contacts);
      if (!planned.length) unreachable++;
      for (const p of planned)
        notices.push({
          reportId,
          personId: r.personId,
          level: r.level,
          purpose,
          channel: p.channel,
          address: p.address,
          contactKind: p.contactKind,
          step,
        });
    }
    return { notices, unreachable };
  }

  /** The duty officers of a level (county: the report's county; city: its first 4 digits). */
  recipientsOf(report: HazardReportRow, level: ChainLevel | 'county_responsible') {
    const county = report.divisionCode.slice(0, 6);
    return this.repo.recipients(level === 'city' ? county.slice(0, 4) : county, level);
  }

  /**
   * Starts the chains of a report that must reach the city (county and city, step 0), with their
   * audit events, in the caller's transaction (the one that claims the report's first notices, so
   * a report is never notified without its chains). Answers the levels started (none when they
   * were started already); the caller schedules the next step (`scheduleNext`), and the sweep
   * does when that is lost.
   */
  async startIn(m: EntityManager, reportId: string, levels: ChainLevel[]): Promise<ChainLevel[]> {
    const stepSeconds = reportStepSeconds();
    const started = await this.repo.startChains(m, reportId, levels, stepSeconds);
    if (started.length)
      await this.audit.append(
        started.map((level) => ({
          actor: 'system',
          action: 'hazard_report.step_started',
          subjectType: 'hazard_report',
          subjectId: reportId,
          data: { level, step: 0, steps: reportSteps(), waitSeconds: stepSeconds },
        })),
        m,
      );
    return started;
  }

  /** The timer of step 1 of a report whose chains have just started. */
  async scheduleFirstStep(reportId: string): Promise<void> {
    await this.queue.scheduleStep(reportId, 1, new Date(Date.now() + reportStepSeconds() * 1000));
  }

  /**
   * A step timer: each chain of the report still running at step `step - 1` whose wait ran out
   * gets step `step` (texted and called again on every duty officer's contact points), or, after
   * the last step, ends `exhausted`. Then the next step's timer.
   */
  async onStep(reportId: string, step: number): Promise<StepOutcome> {
    const chains = (await this.repo.chains(reportId)).filter(
      (c) => c.state === 'running' && c.step === step - 1,
    );
    if (!chains.length) return { kind: 'not_needed' };
    const due = Math.min(...chains.map((c) => new Date(c.stepDueAt).getTime()));
    if (due > Date.now()) return { kind: 'early', at: new Date(due) };
    const report = await this.repo.find(reportId);
    if (!report) return { kind: 'not_needed' };
    const policy = this.policy();
    const last = step >= policy.steps.length;
    const stepSeconds = reportStepSeconds();
    // The step's notices are planned first (reads) and written in the transaction that moves the
    // chains on: a step is never taken without its messages (a crash between the two would have
    // lost them, the next step coming only ten minutes later).
    const planned = new Map<ChainLevel, NoticeToWrite[]>();
    if (!last)
      for (const c of chains) {
        const level = c.level as ChainLevel;
        const p = this.plan(
          reportId,
          'report',
          await this.recipientsOf(report, level),
          policy,
          step,
        );
        planned.set(level, p.notices);
        if (p.unreachable)
          this.logger.warn(
            { reportId, level, step, people: p.unreachable },
            'duty officers without a contact point the step can use',
          );
      }
    const { moved, ids } = await this.repo.db.transaction(async (m) => {
      const levels = last
        ? await this.repo.exhaustChains(m, reportId, step - 1)
        : await this.repo.advanceChains(m, reportId, step - 1, stepSeconds);
      if (levels.length)
        await this.audit.append(
          levels.map((level) => ({
            actor: 'system',
            action: last ? 'hazard_report.chain_exhausted' : 'hazard_report.step_started',
            subjectType: 'hazard_report',
            subjectId: reportId,
            data: last ? { level, steps: step } : { level, step, waitSeconds: stepSeconds },
          })),
          m,
        );
      const notices = levels.flatMap((level) => planned.get(level as ChainLevel) ?? []);
      return { moved: levels, ids: await this.repo.insertNotices(notices, m) };
    });
    if (!moved.length) return { kind: 'not_needed' };
    if (last) {
      this.logger.warn({ reportId, levels: moved, steps: step }, 'hazard report chain exhausted');
      return { kind: 'exhausted' };
    }
    // If queueing fails (the queue backend is down), the sweep queues them again from Postgres.
    await this.queue.enqueueNotices(ids);
    await this.queue.scheduleStep(reportId, step + 1, new Date(Date.now() + stepSeconds * 1000));
    return { kind: 'advanced' };
  }

  /**
   * A notice failed (the provider refused it, or its final status says it never arrived or nobody
   * answered): the same message goes to the person's next contact point not yet tried in this step
   * (`planFailover`), once per failed notice, unless the level has acknowledged or its chain moved on.
   */
  async failover(noticeId: string, outcome: string): Promise<void> {
    if (outcome !== 'rejected' && !FAILOVER_OUTCOMES.has(outcome)) return;
    const n = await this.repo.findNotice(noticeId);
    if (!n?.personId || !n.address || !failsOver(n)) return;
    if (n.level === 'county' || n.level === 'city' || n.purpose === 'escalation') {
      const acks = await this.repo.acks(n.reportId);
      const level = n.purpose === 'escalation' ? 'city' : n.level;
      if (acks.some((a) => a.level === level)) return;
    }
    if (n.purpose === 'report' && (n.level === 'county' || n.level === 'city')) {
      const chain = (await this.repo.chains(n.reportId)).find((c) => c.level === n.level);
      // A chain moved on (the next step tries every contact point again) or ended: no failover.
      if (chain && (chain.state !== 'running' || chain.step !== n.step)) return;
    }
    const contacts = await this.repo.contactsOf(n.personId);
    const tried = await this.repo.tried(n.reportId, n.personId, n.step, n.purpose);
    const next = planFailover(
      { channel: n.channel as PersonChannel, address: n.address },
      contacts,
      tried,
    );
    if (!next) {
      this.logger.warn(
        { reportId: n.reportId, noticeId, level: n.level, step: n.step, outcome },
        'hazard report notice failed: no contact point left to try in this step',
      );
      return;
    }
    const written = await this.repo.db.transaction(async (m) => {
      const ids = await this.repo.insertNotices(
        [
          {
            reportId: n.reportId,
            personId: n.personId as string,
            level: n.level,
            purpose: n.purpose,
            channel: next.channel,
            address: next.address,
            contactKind: next.contactKind,
            step: n.step,
            failoverOf: n.id,
          },
        ],
        m,
      );
      if (ids.length)
        await this.audit.append(
          [
            {
              actor: 'system',
              action: 'hazard_report.failover',
              subjectType: 'hazard_report',
              subjectId: n.reportId,
              data: {
                level: n.level,
                purpose: n.purpose,
                step: n.step,
                personId: n.personId,
                failedNoticeId: n.id,
                outcome,
                from: { channel: n.channel, contactKind: n.contactKind },
                to: { channel: next.channel, contactKind: next.contactKind, noticeId: ids[0] },
              },
            },
          ],
          m,
        );
      return ids;
    });
    await this.queue.enqueueNotices(written);
  }

  /** For the sweep: the timer of the next step of every running chain (a lost job added again). */
  async ensureTimers(): Promise<void> {
    for (const c of await this.repo.runningChains()) {
      const done = await this.queue.ensureStep(c.reportId, c.step + 1, new Date(c.stepDueAt));
      if (done !== 'present')
        this.logger.warn(
          { reportId: c.reportId, step: c.step + 1, done },
          'hazard report step timer rebuilt',
        );
    }
  }

  /** The chains as the report shows them. */
  async view(reportId: string): Promise<ChainRow[]> {
    return this.repo.chains(reportId);
  }
}
