import { Injectable, Logger } from '@nestjs/common';
import type { SendBatchJob } from '../../common/queue/queue-names';
import { type AttemptToEnqueue, DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { RATE_WAIT_MS, SendAttemptService, type SendOutcome } from './send-attempt.service';

/** What one run of a batch job did with its people. */
export interface BatchOutcome {
  sent: number;
  skipped: number;
  failed: number;
  /** Left to a job of their own: deferred, failed for now, or accepted and not yet recorded. */
  handedOn: number;
}

/**
 * A batch of a warning's first SMS contacts (one `send-sms-batch` job): every attempt goes through
 * the same send as a job of its own (SendAttemptService.send: re-read, claim, number limits,
 * the provider's shared rate, send, record), all at once, so that their reads, claims and
 * recordings share statements and the queue backend handles one job instead of a hundred.
 *
 * What the batch cannot finish now goes on alone, as `attempt-<id>` on `send-sms`, with that
 * queue's retries: a send deferred (the provider's circuit open, a number's carrier limit, the
 * rate's wait ran out) after its delay; a send that failed and may be tried again after the
 * retry backoff; an acceptance the database could not record, kept in its job for recording
 * (never sent again). When every send of the batch failed (the database away), the batch job
 * fails as a whole and BullMQ tries it again: run again, a batch skips what was sent.
 */
@Injectable()
export class SendBatchService {
  private readonly logger = new Logger(SendBatchService.name);

  constructor(
    private readonly attempts: SendAttemptService,
    private readonly queue: DispatchQueue,
  ) {}

  async send(job: SendBatchJob, priority: number): Promise<BatchOutcome> {
    // Answers first (see FanoutService): a person's keypress before a hundred first contacts.
    await this.queue.yieldToAnswers('sends');
    const ids = job.attemptIds;
    // The batch's share of the rate: at most one second of it (DispatchQueue.smsBatchSize).
    const rateWaitMs = RATE_WAIT_MS + Math.ceil((ids.length / this.queue.smsPerSecond) * 1000);
    const results = await Promise.all(
      ids.map((id) =>
        this.attempts.send(id, false, undefined, { rateWaitMs }).then(
          (out): { id: string; out: SendOutcome } => ({ id, out }),
          (err: unknown): { id: string; err: unknown } => ({ id, err }),
        ),
      ),
    );
    const failedNow = results.filter((r) => 'err' in r);
    if (ids.length && failedNow.length === ids.length) throw (failedNow[0] as { err: unknown }).err;

    const counts: BatchOutcome = { sent: 0, skipped: 0, failed: 0, handedOn: 0 };
    const later: AttemptToEnqueue[] = [];
    const retryMs = this.queue.sendRetry.backoff.delay;
    for (const r of results) {
      const alone = { id: r.id, channel: 'sms' as const, priority };
      if ('err' in r) {
        later.push({ ...alone, delayMs: retryMs });
        continue;
      }
      const out = r.out;
      if (out.kind === 'deferred') later.push({ ...alone, delayMs: out.delayMs });
      else if (out.kind === 'unrecorded') later.push({ ...alone, accepted: out.accepted });
      else counts[out.kind]++;
    }
    counts.handedOn = later.length;
    if (later.length) {
      this.logger.warn(
        { batchId: job.batchId, handedOn: later.length, of: ids.length },
        'sends of a batch left to jobs of their own',
      );
      await this.queue.enqueueAttempts(later);
    }
    return counts;
  }
}
