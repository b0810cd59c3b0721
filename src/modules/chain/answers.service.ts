import { TimeoutError, withTimeout } from '../../common/with-timeout';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ANSWERS_DB } from '../../database/data-source';
import { TaskMoves } from './task-moves.repository';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AnswerListeners } from './answer-listener';
import { NoticesRepository } from './notices.repository';
import { ChainMoves } from './chain-moves.repository';
import { type AnswerInput, type AnswerKind, type AnswerResult, delayedNote } from './answers.types';
import { answersRecorded } from '../../common/observability/metrics';
import type { OnSiteAnswer } from './answers.types';

export * from './answers.types';

/**
 * How long an answer's webhook waits for its follow-up (alert the superiors of a help request).
 * The answer itself and the stop of the person's sends are already committed by then; past this
 * the follow-up goes on in the background, so that a webhook is answered well within a second
 * (Twilio gives up on a webhook after 15 s; a keypress must never wait that long).
 */
const LISTENER_TIMEOUT_MS = 500;

/**
 * Every way a person answers (叫应) ends here: keypress, SMS reply, signed link, on-site record.
 * Each answer is kept with its channel, attempt, time and raw input, once per dedupe key; only
 * the first confirm or help moves the delivery (to confirmed / declined), so a webhook delivered
 * twice, late or out of order changes nothing twice and never overwrites an earlier answer. Help
 * asked after a confirmation still counts: the person needs help now.
 */
@Injectable()
export class AnswersService {
  private readonly logger = new Logger(AnswersService.name);

  constructor(
    @InjectDataSource(ANSWERS_DB) private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly notices: NoticesRepository,
    private readonly moves: ChainMoves,
    private readonly taskMoves: TaskMoves,
    private readonly listeners: AnswerListeners,
  ) {}

  /**
   * An answer to a notice (a superior's keypress or SMS reply to a message about someone else):
   * it acknowledges what the notice reported. A person brought into the warning by an escalation
   * has notices as their whole chain: for them it is also the answer to their own delivery. A 2
   * asks for help: the superior's own superior and the duty office are told.
   */
  async answerNotice(input: {
    attemptId: string;
    kind: AnswerKind;
    channel: 'voice' | 'sms';
    raw?: string | null;
    dedupeKey: string;
    /** When it was received, for an answer replayed from the inbound spool (else now). */
    receivedAt?: Date;
  }): Promise<{ recorded: boolean; acknowledged: number; deliveryId?: string }> {
    const ack = await this.notices.acknowledge(input);
    if (!ack) return { recorded: false, acknowledged: 0 };
    if (ack.recorded && input.kind !== 'ambiguous') {
      const [d] = await this.db.query(
        `SELECT escalated_from IS NOT NULL AS "broughtIn" FROM deliveries WHERE id = $1`,
        [ack.deliveryId],
      );
      if (d?.broughtIn) {
        await this.record({
          deliveryId: ack.deliveryId,
          kind: input.kind,
          channel: input.channel,
          attemptId: input.attemptId,
          raw: input.raw,
          dedupeKey: `${input.dedupeKey}:own`,
          receivedAt: input.receivedAt,
        });
      } else if (input.kind === 'help') {
        await this.afterRecord(
          { ...input, deliveryId: ack.deliveryId },
          {
            recorded: true,
            effective: true,
            state: 'confirmed',
            deliveryId: ack.deliveryId,
            warningId: ack.warningId,
          },
        );
      }
    }
    return { recorded: ack.recorded, acknowledged: ack.acknowledged, deliveryId: ack.deliveryId };
  }

  /** A task completed on site: the visited person's answer (once per task). */
  recordOnSite(a: OnSiteAnswer): Promise<AnswerResult> {
    return this.record({ ...a, kind: 'confirm', channel: 'on_site' });
  }

  async record(input: AnswerInput): Promise<AnswerResult> {
    const result = await this.db.transaction(async (m): Promise<AnswerResult> => {
      const r = await this.moves.recordAnswer(m, input);
      if (r.effective && input.kind !== 'ambiguous') {
        // One commit: the answer, the person's queued sends stopped and, for a confirmation,
        // what was reported about them resolved and their door-to-door tasks closed.
        await this.moves.stopPendingSends(m, r);
        if (input.kind === 'confirm') {
          await this.notices.resolve({ subjectDeliveryId: r.deliveryId }, m);
          await this.taskMoves.closeForSubject(r.deliveryId, m);
        }
      }
      if (r.recorded && r.answerId) {
        // The raw input stays in answers (it may be free text); the log keeps ids and codes.
        await this.audit.append(
          [
            {
              actor:
                input.recordedBy ??
                (input.channel === 'link' ? 'link' : `provider:${input.channel}`),
              action: 'answer.recorded',
              subjectType: 'answer',
              subjectId: r.answerId,
              warningId: r.warningId,
              data: {
                deliveryId: r.deliveryId,
                attemptId: input.attemptId ?? null,
                kind: input.kind,
                channel: input.channel,
                effective: r.effective,
                state: r.state,
                ...delayedNote(input.receivedAt),
              },
            },
          ],
          m,
        );
      }
      return r;
    });
    if (result.recorded)
      answersRecorded().inc({
        channel: input.channel,
        kind: input.kind,
        effective: String(result.effective),
      });
    return this.afterRecord(input, result);
  }

  private async afterRecord(input: AnswerInput, result: AnswerResult): Promise<AnswerResult> {
    if (!result.effective || input.kind === 'ambiguous') return result;
    const answer = { deliveryId: result.deliveryId, warningId: result.warningId, kind: input.kind };
    for (const listener of this.listeners.all) {
      try {
        // A webhook is answered within a second whatever the queue backend does: past the limit
        // the follow-up goes on in the background, and the recovery sweep makes good a lost one.
        const work = listener.onAnswer(answer);
        // A follow-up still running when the webhook is answered: a late failure is logged too.
        work.catch((err: unknown) =>
          this.logger.error(
            { err, deliveryId: result.deliveryId, kind: input.kind },
            'answer listener failed',
          ),
        );
        await withTimeout(work, LISTENER_TIMEOUT_MS, 'the answer follow-up');
      } catch (err) {
        // The answer is committed; a webhook retry would be a duplicate and not call again. Past
        // the deadline the follow-up goes on in the background (expected under load: a warning).
        if (err instanceof TimeoutError)
          this.logger.warn(
            { deliveryId: result.deliveryId, kind: input.kind },
            'answer follow-up still running after the webhook was answered',
          );
      }
    }
    return result;
  }
}
