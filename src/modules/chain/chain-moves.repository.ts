import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ANSWERS_DB } from '../../database/data-source';
import { DataSource, type EntityManager } from 'typeorm';
import { AppException } from '../../common/errors/app.exception';
import { type AnswerInput, type AnswerResult, closedFor, delayedNote } from './answers.types';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import { attemptFrom, type DeliveryState, deliveryFrom, sqlList } from './chain-states';

export interface SmsMatch {
  where: string;
  params: string[];
}

/**
 * Which attempt an SMS callback is about: by attempt id (its provider id, once recorded, must be
 * the message's), else by the message id alone.
 */
export function smsMatch(e: { messageSid: string; attemptId?: string }): SmsMatch {
  return e.attemptId
    ? {
        where: `id = $1::uuid AND channel IN ('sms', 'manual') AND (provider_id IS NULL OR (provider = 'twilio' AND provider_id = $2))`,
        params: [e.attemptId, e.messageSid],
      }
    : { where: `provider = 'twilio' AND provider_id = $1`, params: [e.messageSid] };
}

/**
 * Whether a message moves its delivery (sent, delivered, heard): the person's own alert and task
 * SMS do; a notice about someone else does only for a person whose whole chain is notices.
 */
export const OWN_MESSAGE = `(a.purpose <> 'notice' OR d.escalated_from IS NOT NULL)`;

/**
 * The chain's moves driven by what providers report (a carrier receipt, a call's end, a message
 * heard through): each one statement guarded by the state table, in one transaction with its
 * audit event, and nothing when the row is not in a state the move starts from (a callback
 * delivered twice, late or out of order). Callers (the provider webhooks, the status poll) decide
 * what follows (fail over, call again).
 */
@Injectable()
export class ChainMoves {
  constructor(
    @InjectDataSource(ANSWERS_DB) private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** An SMS delivered (carrier receipt): the attempt, and the delivery when it is the person's own. */
  async markSmsDelivered(match: SmsMatch, e: { messageSid: string }): Promise<void> {
    await this.db.transaction(async (m) => {
      const [delivered] = await rows<{ id: string; deliveryId: string; warningId: string }>(
        m,
        `WITH a AS (
             UPDATE contact_attempts SET status = 'delivered', delivered_at = coalesce(delivered_at, now())
              WHERE ${match.where} AND status IN ${sqlList(attemptFrom('markDelivered'))}
              RETURNING id, delivery_id, warning_id, purpose),
           d AS (
             UPDATE deliveries d SET state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markDelivered'))} THEN 'delivered' ELSE d.state END,
                    delivered_at = coalesce(d.delivered_at, now())
               FROM a WHERE d.id = a.delivery_id AND ${OWN_MESSAGE}
             RETURNING d.id)
           SELECT a.id, a.delivery_id AS "deliveryId", a.warning_id AS "warningId" FROM a`,
        match.params,
      );
      // A receipt delivered twice finds the attempt delivered already: nothing to record.
      if (!delivered) return;
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.delivered',
            subjectType: 'attempt',
            subjectId: delivered.id,
            warningId: delivered.warningId,
            data: { deliveryId: delivered.deliveryId, providerId: e.messageSid },
          },
        ],
        m,
      );
    });
  }

  /**
   * Carrier receipts of many SMS at once (the status poll's listing of what the provider sent):
   * the same move as `markSmsDelivered`, for a page of attempts in one statement and one
   * transaction with their audit events. An attempt is matched by its id and its recorded provider
   * id together. Returns the attempts moved (one already delivered, or past it, is left alone).
   */
  async markSmsDeliveredMany(
    items: { attemptId: string; messageSid: string }[],
  ): Promise<string[]> {
    if (!items.length) return [];
    return this.db.transaction(async (m) => {
      const delivered = await rows<{
        id: string;
        deliveryId: string;
        warningId: string;
        providerId: string;
      }>(
        m,
        `WITH x AS (SELECT * FROM unnest($1::uuid[], $2::text[]) AS x(id, provider_id)),
           a AS (
             UPDATE contact_attempts c SET status = 'delivered', delivered_at = coalesce(c.delivered_at, now())
               FROM x
              WHERE c.id = x.id AND c.channel IN ('sms', 'manual') AND c.provider = 'twilio' AND c.provider_id = x.provider_id
                AND c.status IN ${sqlList(attemptFrom('markDelivered'))}
              RETURNING c.id, c.delivery_id, c.warning_id, c.purpose, c.provider_id),
           d AS (
             UPDATE deliveries d SET state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markDelivered'))} THEN 'delivered' ELSE d.state END,
                    delivered_at = coalesce(d.delivered_at, now())
               FROM a WHERE d.id = a.delivery_id AND ${OWN_MESSAGE}
             RETURNING d.id)
           SELECT a.id, a.delivery_id AS "deliveryId", a.warning_id AS "warningId", a.provider_id AS "providerId" FROM a`,
        [items.map((i) => i.attemptId), items.map((i) => i.messageSid)],
      );
      await this.audit.append(
        delivered.map((a) => ({
          actor: 'provider:twilio',
          action: 'attempt.delivered',
          subjectType: 'attempt',
          subjectId: a.id,
          warningId: a.warningId,
          data: { deliveryId: a.deliveryId, providerId: a.providerId },
        })),
        m,
      );
      return delivered.map((a) => a.id);
    });
  }

  /** The callee picked up (in-progress): when, once. */
  async markCallAnswered(attemptId: string): Promise<void> {
    await this.db.query(
      `UPDATE contact_attempts SET answered_at = coalesce(answered_at, now()) WHERE id = $1`,
      [attemptId],
    );
  }

  /**
   * A key pressed on a call: the digits, the message heard (a key is pressed only once it
   * played), and when the call was answered. A fact about the call whatever its status (a
   * keypress may come after the call's end was reported); what it means is recorded as an answer
   * (guarded, with its event) by the caller. Undefined for an unknown attempt.
   */
  async recordKeypress(
    attemptId: string,
    digits: string,
    receivedAt?: Date,
  ): Promise<{ delivery_id: string; purpose: string } | undefined> {
    const [a] = await rows<{ delivery_id: string; purpose: string }>(
      this.db,
      `UPDATE contact_attempts SET digits = $2, heard = true, answered_at = coalesce(answered_at, $3::timestamptz, now())
        WHERE id = $1 RETURNING delivery_id, purpose`,
      [attemptId, digits, receivedAt ?? null],
    );
    return a;
  }

  /** A call ended: completed, or hung up early (nothing heard, no key) in the same statement. */
  async completeCall(attemptId: string, e: { duration?: number }) {
    return this.db.transaction(async (m) => {
      const [call] = await rows<{
        deliveryId: string;
        warningId: string;
        heard: boolean;
        outcome: string;
        durationS: number | null;
      }>(
        m,
        `WITH a AS (
             UPDATE contact_attempts SET status = 'completed',
                    outcome = CASE WHEN NOT heard AND coalesce(digits, '') = '' THEN 'hung_up_early'
                                   ELSE coalesce(outcome, 'completed') END,
                    duration_s = $2, completed_at = now(), answered_at = coalesce(answered_at, now())
              WHERE id = $1 AND status IN ${sqlList(attemptFrom('complete'))}
              RETURNING delivery_id, warning_id, heard, outcome, duration_s, purpose),
           d AS (
             UPDATE deliveries d SET state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markDelivered'))} THEN 'delivered' ELSE d.state END,
                    delivered_at = coalesce(d.delivered_at, now())
               FROM a WHERE d.id = a.delivery_id AND ${OWN_MESSAGE}
             RETURNING d.id)
           SELECT a.delivery_id AS "deliveryId", a.warning_id AS "warningId", a.heard, a.outcome,
                     a.duration_s AS "durationS" FROM a`,
        [attemptId, e.duration ?? null],
      );
      // A status callback delivered twice finds the call completed already: nothing to record.
      if (!call) return undefined;
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.completed',
            subjectType: 'attempt',
            subjectId: attemptId,
            warningId: call.warningId,
            data: {
              deliveryId: call.deliveryId,
              heard: call.heard,
              outcome: call.outcome,
              durationS: call.durationS,
            },
          },
        ],
        m,
      );
      return call;
    });
  }

  /** A call not answered, busy, failed or cancelled. */
  async failCall(attemptId: string, outcome: string, e: { errorCode?: string }) {
    return this.db.transaction(async (m) => {
      const [failed] = await rows<{ deliveryId: string; warningId: string }>(
        m,
        `UPDATE contact_attempts SET status = 'failed', outcome = $2, error_code = $3, failed_at = now()
            WHERE id = $1 AND status IN ${sqlList(attemptFrom('fail'))}
            RETURNING delivery_id AS "deliveryId", warning_id AS "warningId"`,
        [attemptId, outcome, e.errorCode ?? null],
      );
      if (!failed) return undefined;
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.failed',
            subjectType: 'attempt',
            subjectId: attemptId,
            warningId: failed.warningId,
            data: { deliveryId: failed.deliveryId, code: e.errorCode ?? null, outcome },
          },
        ],
        m,
      );
      return failed;
    });
  }

  /**
   * The whole message played through without a key: heard, once. `at`: when the gateway received
   * it, for an event replayed from the inbound spool (else now).
   */
  async markHeard(attemptId: string, at?: Date): Promise<void> {
    await this.db.transaction(async (m) => {
      const [first] = await rows<{ deliveryId: string; warningId: string }>(
        m,
        `UPDATE contact_attempts SET heard = true WHERE id = $1 AND NOT heard
          RETURNING delivery_id AS "deliveryId", warning_id AS "warningId"`,
        [attemptId],
      );
      const [a] = first
        ? [first]
        : await m.query(`SELECT delivery_id AS "deliveryId" FROM contact_attempts WHERE id = $1`, [
            attemptId,
          ]);
      if (!a) return;
      // A notice heard is not the person's own alert heard (unless notices are their whole chain).
      await m.query(
        `UPDATE deliveries d SET heard_at = coalesce(d.heard_at, $3::timestamptz, now()),
                state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markHeard'))} THEN 'heard' ELSE d.state END
           FROM contact_attempts a
          WHERE a.id = $2 AND d.id = $1 AND ${OWN_MESSAGE}`,
        [a.deliveryId, attemptId, at ?? null],
      );
      if (!first) return;
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.heard',
            subjectType: 'attempt',
            subjectId: attemptId,
            warningId: first.warningId,
            data: { deliveryId: first.deliveryId, ...delayedNote(at) },
          },
        ],
        m,
      );
    });
  }

  /** An SMS (or task SMS) the carrier could not deliver: failed, once, never after delivered. */
  async failSms(match: SmsMatch, code: string | undefined, message: string, outcome: string) {
    const row = await this.db.transaction(async (m) => {
      const [failed] = await rows<{ id: string; deliveryId: string; warningId: string }>(
        m,
        `UPDATE contact_attempts SET status = 'failed', outcome = $${match.params.length + 3}, error_code = $${match.params.length + 1},
                error_message = $${match.params.length + 2}, failed_at = now()
          WHERE ${match.where} AND status IN ${sqlList(attemptFrom('fail'))}
          RETURNING id, delivery_id AS "deliveryId", warning_id AS "warningId"`,
        [...match.params, code ?? null, message, outcome],
      );
      if (!failed) return undefined;
      // Only the code: a provider's error message may quote the number.
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.failed',
            subjectType: 'attempt',
            subjectId: failed.id,
            warningId: failed.warningId,
            data: { deliveryId: failed.deliveryId, code: code ?? null, outcome },
          },
        ],
        m,
      );
      return failed;
    });
    return row;
  }

  /**
   * An effective answer stops the person's own alert where it waits: every send of it still
   * queued is cancelled (one counted audit event; none when nothing was queued). In the answer's
   * transaction, so that "answer recorded" and "pending sends stopped" are one commit. Notices
   * about others, task SMS and releases are not the person's alert and go on.
   */
  async stopPendingSends(
    m: EntityManager,
    e: { deliveryId: string; warningId: string },
  ): Promise<number> {
    const [{ count }] = await rows<{ count: number }>(
      m,
      `WITH c AS (
         UPDATE contact_attempts SET status = 'cancelled', outcome = 'answered'
          WHERE delivery_id = $1 AND status = 'queued'
            AND purpose = 'warning' AND channel <> 'manual' AND msg_type <> 'cancel'
          RETURNING 1)
       SELECT count(*)::int AS count FROM c`,
      [e.deliveryId],
    );
    if (count)
      await this.audit.append(
        [
          {
            actor: 'escalation',
            action: 'attempts.cancelled',
            subjectType: 'delivery',
            subjectId: e.deliveryId,
            warningId: e.warningId,
            data: { deliveryId: e.deliveryId, count, reason: 'answered' },
          },
        ],
        m,
      );
    return count;
  }

  /**
   * An answer (keypress, SMS reply, link, on site), kept once per dedupe key; only the first
   * confirm or help moves the delivery, and help after a confirmation is a flag on top of it. In
   * the caller's transaction (which appends the audit event and runs what follows).
   */
  async recordAnswer(m: EntityManager, input: AnswerInput): Promise<AnswerResult> {
    const [d] = await m.query(`SELECT id, warning_id, state FROM deliveries WHERE id = $1`, [
      input.deliveryId,
    ]);
    if (!d) throw AppException.notFound('投递 delivery', input.deliveryId);
    const base = { deliveryId: d.id as string, warningId: d.warning_id as string };
    const [answer] = await m.query(
      `INSERT INTO answers (delivery_id, attempt_id, channel, kind, raw_input, recorded_by, reason, dedupe_key, effective, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, coalesce($9::timestamptz, now()))
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
        input.receivedAt ?? null,
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
    // their confirmation, which their response time is measured by. Help is flagged once. An
    // answer replayed from the inbound spool carries the time it was received: that is its time.
    const [moved] = await rows<{ state: DeliveryState }>(
      m,
      `UPDATE deliveries SET state = CASE WHEN state = 'confirmed' THEN state ELSE $2 END,
              confirmed_at = coalesce(confirmed_at, $6::timestamptz, now()),
              help_requested_at = CASE WHEN $2 = 'declined' THEN coalesce(help_requested_at, $6::timestamptz, now()) ELSE help_requested_at END,
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
        input.receivedAt ?? null,
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

  private async stateOf(m: EntityManager, deliveryId: string): Promise<DeliveryState> {
    const [row] = await m.query(`SELECT state FROM deliveries WHERE id = $1`, [deliveryId]);
    return row.state;
  }
}
