import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { type HazardReportJob, QUEUE_NAMES } from '../../common/queue/queue-names';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';

export const noticeJobId = (noticeId: string) => `notice-${noticeId}`;
export const deadlineJobId = (reportId: string) => `deadline-${reportId}`;
export const stepJobId = (reportId: string, step: number) => `step-${reportId}-${step}`;

/**
 * The hazard-reports queue: one job per notice (retried with the send retry policy of warning
 * sends, SEND_RETRY_ATTEMPTS / SEND_RETRY_BACKOFF_MS) and one delayed job per report that must
 * reach the city (its 45-minute mark). Job ids are deterministic, so queueing again — the sweep
 * rebuilding what the queue backend lost — never sends or escalates twice.
 */
@Injectable()
export class HazardReportQueue {
  constructor(
    @InjectQueue(QUEUE_NAMES.hazardReports) readonly queue: Queue<HazardReportJob>,
    private readonly dispatch: DispatchQueue,
  ) {}

  async enqueueNotices(noticeIds: string[]): Promise<void> {
    if (!noticeIds.length) return;
    await this.queue.addBulk(
      noticeIds.map((id) => ({
        name: 'notice',
        data: { type: 'notice' as const, noticeId: id },
        opts: {
          jobId: noticeJobId(id),
          // Served before the deadline timers' work of other reports.
          priority: 1,
          ...this.dispatch.sendRetry,
          removeOnComplete: 1000,
          removeOnFail: false,
        },
      })),
    );
  }

  /** The report's deadline timer, due at `at` (at once when that has passed). */
  async scheduleDeadline(reportId: string, at: Date): Promise<void> {
    await this.queue.add(
      'deadline',
      { type: 'deadline', reportId },
      {
        jobId: deadlineJobId(reportId),
        delay: Math.max(0, at.getTime() - Date.now()),
        priority: 2,
        attempts: 10,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: 1000,
        removeOnFail: false,
      },
    );
  }

  /** The timer of step `step` of a report's chain, due at `at` (at once when that has passed). */
  async scheduleStep(reportId: string, step: number, at: Date): Promise<void> {
    await this.queue.add(
      'step',
      { type: 'step', reportId, step },
      {
        jobId: stepJobId(reportId, step),
        delay: Math.max(0, at.getTime() - Date.now()),
        priority: 2,
        attempts: 10,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: 1000,
        removeOnFail: false,
      },
    );
  }

  /** Makes sure a running chain has the timer of its next step (a lost job added, a failed one retried). */
  async ensureStep(
    reportId: string,
    step: number,
    at: Date,
  ): Promise<'present' | 'added' | 'retried'> {
    const job = await this.queue.getJob(stepJobId(reportId, step));
    if (job) {
      const state = await job.getState();
      if (state === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return 'retried';
      }
      if (state !== 'completed' && state !== 'unknown') return 'present';
      await job.remove();
    }
    await this.scheduleStep(reportId, step, at);
    return 'added';
  }

  /**
   * Makes sure a pending report has its timer: a job the backend lost is added again, a failed
   * one retried. Answers what it did.
   */
  async ensureDeadline(reportId: string, at: Date): Promise<'present' | 'added' | 'retried'> {
    const job = await this.queue.getJob(deadlineJobId(reportId));
    if (job) {
      const state = await job.getState();
      if (state === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return 'retried';
      }
      if (state !== 'completed' && state !== 'unknown') return 'present';
      await job.remove();
    }
    await this.scheduleDeadline(reportId, at);
    return 'added';
  }

  /**
   * Queues a notice whose job may be lost (a no-op while its job still exists). A failed job that
   * kept the provider's acceptance is tried again, to record it: a new job would not know it.
   */
  async ensureNotice(noticeId: string): Promise<void> {
    const job = await this.queue.getJob(noticeJobId(noticeId));
    if (job) {
      const state = await job.getState();
      if (state === 'failed' && job.data.type === 'notice' && job.data.accepted) {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return;
      }
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
      await job.remove();
    }
    await this.enqueueNotices([noticeId]);
  }
}
