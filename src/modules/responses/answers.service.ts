import { withTimeout } from '../../common/with-timeout';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { AppException } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import { ANSWER_LISTENER, type AnswerListener } from './answer-listener';
import { CHAIN_CLOSED, type DeliveryState } from '../chain/chain-states';
import { NoticesRepository } from '../chain/notices.repository';
import { answersRecorded } from '../../common/observability/metrics';
import type { OnSiteAnswer } from '../tasks/tasks.service';

export const ANSWER_KINDS = ['confirm', 'help', 'ambiguous'] as const;

/** How long an answer's webhook waits for its follow-up (stop the chain, alert the superiors). */
const LISTENER_TIMEOUT_MS = 3000;
export type AnswerKind = (typeof ANSWER_KINDS)[number];

export const ANSWER_CHANNELS = ['voice', 'sms', 'link', 'on_site'] as const;
export type AnswerChannel = (typeof ANSWER_CHANNELS)[number];

export type { DeliveryState };

/**
 * States an answer of this kind no longer changes: the first effective answer stands. A request
 * for help still reaches a confirmed person: it is a new emergency, flagged on top of their
 * confirmation (help_requested_at), which stays their first answer.
 */
export function closedFor(kind: AnswerKind): readonly DeliveryState[] {
  return kind === 'help' ? ['declined', 'cancelled'] : CHAIN_CLOSED;
}

export interface AnswerInput {
  deliveryId: string;
  kind: AnswerKind;
  channel: AnswerChannel;
  /** The contact attempt answered (the call, the SMS replied to), when known. */
  attemptId?: string | null;
  /** What the person pressed, wrote or chose, as received. */
  raw?: string | null;
  /** Token id of whoever recorded it for the person (on-site confirmation). */
  recordedBy?: string | null;
  reason?: string | null;
  /** Provider message / call id or link token: the same answer delivered twice is one row. */
  dedupeKey: string;
}

export interface AnswerResult {
  /** False when this dedupe key was already recorded (nothing changed). */
  recorded: boolean;
  /** It changed the person's state (confirmed, or declined = asked for help). */
  effective: boolean;
  /** The delivery's state after the answer. */
  state: DeliveryState;
  deliveryId: string;
  warningId: string;
  answerId?: string;
}

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
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly notices: NoticesRepository,
    @Optional() @Inject(ANSWER_LISTENER) private readonly listener?: AnswerListener,
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
      const r = await this.recordIn(m, input);
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

  private async recordIn(m: EntityManager, input: AnswerInput): Promise<AnswerResult> {
    const [d] = await m.query(`SELECT id, warning_id, state FROM deliveries WHERE id = $1`, [
      input.deliveryId,
    ]);
    if (!d) throw AppException.notFound('投递 delivery', input.deliveryId);
    const base = { deliveryId: d.id as string, warningId: d.warning_id as string };
    const [answer] = await m.query(
      `INSERT INTO answers (delivery_id, attempt_id, channel, kind, raw_input, recorded_by, reason, dedupe_key, effective)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false)
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      [
        input.deliveryId,
        input.attemptId ?? null,
        input.channel,
        input.kind,
        input.raw ?? null,
        input.recordedBy ?? null,
        input.reason ?? null,
        input.dedupeKey,
      ],
    );
    if (!answer) {
      return { ...base, recorded: false, effective: false, state: await this.stateOf(m, d.id) };
    }
    if (input.kind === 'ambiguous') {
      return { ...base, recorded: true, effective: false, state: d.state, answerId: answer.id };
    }
    // Row lock: of two different answers racing, the second re-reads the state and changes nothing.
    // The first answer stays the first answer: help after a confirmation is a flag on top of it
    // (help_requested_at), and the person stays confirmed with the time, channel and attempt of
    // their confirmation, which their response time is measured by. Help is flagged once.
    const [moved] = await rows<{ state: DeliveryState }>(
      m,
      `UPDATE deliveries SET state = CASE WHEN state = 'confirmed' THEN state ELSE $2 END,
              confirmed_at = coalesce(confirmed_at, now()),
              help_requested_at = CASE WHEN $2 = 'declined' THEN coalesce(help_requested_at, now()) ELSE help_requested_at END,
              answered_attempt_id = CASE WHEN state = 'confirmed' THEN answered_attempt_id ELSE $3 END,
              answer_channel = CASE WHEN state = 'confirmed' THEN answer_channel ELSE $4 END
        WHERE id = $1 AND state <> ALL($5::text[]) AND NOT ($2 = 'declined' AND help_requested_at IS NOT NULL)
        RETURNING state`,
      [
        input.deliveryId,
        input.kind === 'confirm' ? 'confirmed' : 'declined',
        input.attemptId ?? null,
        input.channel,
        closedFor(input.kind),
      ],
    );
    if (!moved) {
      return {
        ...base,
        recorded: true,
        effective: false,
        state: await this.stateOf(m, d.id),
        answerId: answer.id,
      };
    }
    await m.query(`UPDATE answers SET effective = true WHERE id = $1`, [answer.id]);
    return { ...base, recorded: true, effective: true, state: moved.state, answerId: answer.id };
  }

  private async afterRecord(input: AnswerInput, result: AnswerResult): Promise<AnswerResult> {
    if (result.effective && this.listener && input.kind !== 'ambiguous') {
      try {
        // A webhook is answered within seconds whatever the queue backend does: past the limit
        // the follow-up goes on in the background, and the recovery sweep makes good a lost one.
        await withTimeout(
          this.listener.onAnswer({
            deliveryId: result.deliveryId,
            warningId: result.warningId,
            kind: input.kind,
          }),
          LISTENER_TIMEOUT_MS,
          'the answer follow-up',
        );
      } catch (err) {
        // The answer is committed; a webhook retry would be a duplicate and not call again.
        this.logger.error(
          { err, deliveryId: result.deliveryId, kind: input.kind },
          'answer listener failed',
        );
      }
    }
    return result;
  }

  private async stateOf(m: EntityManager, deliveryId: string): Promise<DeliveryState> {
    const [row] = await m.query(`SELECT state FROM deliveries WHERE id = $1`, [deliveryId]);
    return row.state;
  }
}
