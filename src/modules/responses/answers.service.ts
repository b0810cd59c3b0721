import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { AppException } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import { ANSWER_LISTENER, type AnswerListener } from './answer-listener';

export const ANSWER_KINDS = ['confirm', 'help', 'ambiguous'] as const;
export type AnswerKind = (typeof ANSWER_KINDS)[number];

export const ANSWER_CHANNELS = ['voice', 'sms', 'link', 'on_site'] as const;
export type AnswerChannel = (typeof ANSWER_CHANNELS)[number];

export type DeliveryState =
  | 'pending'
  | 'sent'
  | 'delivered'
  | 'heard'
  | 'confirmed'
  | 'declined'
  | 'unreachable'
  | 'cancelled';

/** States no answer moves a delivery out of: the first effective answer stands. */
export const ANSWERED_OR_CLOSED: readonly DeliveryState[] = ['confirmed', 'declined', 'cancelled'];

/**
 * States an answer of this kind no longer changes. A request for help still reaches a confirmed
 * person: it is a new emergency (their response time stays that of their first answer).
 */
export function closedFor(kind: AnswerKind): readonly DeliveryState[] {
  return kind === 'help' ? ['declined', 'cancelled'] : ANSWERED_OR_CLOSED;
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
    @Optional() @Inject(ANSWER_LISTENER) private readonly listener?: AnswerListener,
  ) {}

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
    // Help after a confirmation (closedFor) moves the person to declined and keeps the time,
    // channel and attempt of their first answer, which their response time is measured by.
    const [moved] = await rows<{ state: DeliveryState }>(
      m,
      `UPDATE deliveries SET state = $2, confirmed_at = coalesce(confirmed_at, now()),
              answered_attempt_id = CASE WHEN state = 'confirmed' THEN answered_attempt_id ELSE $3 END,
              answer_channel = CASE WHEN state = 'confirmed' THEN answer_channel ELSE $4 END
        WHERE id = $1 AND state <> ALL($5::text[])
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
        await this.listener.onAnswer({
          deliveryId: result.deliveryId,
          warningId: result.warningId,
          kind: input.kind,
        });
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
