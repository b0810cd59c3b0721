import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { rows } from '../../database/sql';
import { EscalationService } from '../escalation/escalation.service';
import { SendAttemptService } from '../dispatch/send-attempt.service';
import type { AttemptRow } from '../dispatch/dispatch.repository';
import { AnswersService } from './answers.service';

/** Twilio message statuses, in the order they can only move forward. */
const SMS_TERMINAL_FAILURES = new Set(['failed', 'undelivered']);
const CALL_FAILURES = new Set(['no-answer', 'busy', 'failed', 'canceled']);

/**
 * Applies what providers report back (status callbacks, keypresses, replies, playback receipts)
 * to attempts and deliveries; keypresses are answers, recorded through AnswersService. Every update is conditional on the current state, so a callback
 * delivered twice, late or out of order changes nothing twice and never moves a state backwards.
 */
@Injectable()
export class DeliveryEventsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly sender: SendAttemptService,
    private readonly answers: AnswersService,
    private readonly escalation: EscalationService,
  ) {}

  async smsStatus(e: { messageSid: string; status: string; errorCode?: string }): Promise<void> {
    if (e.status === 'delivered') {
      await this.db.query(
        `WITH a AS (
           UPDATE contact_attempts SET status = 'delivered', delivered_at = coalesce(delivered_at, now())
            WHERE provider = 'twilio' AND provider_id = $1 AND status IN ('sending', 'sent') RETURNING delivery_id)
         UPDATE deliveries d SET state = CASE WHEN d.state IN ('pending', 'sent') THEN 'delivered' ELSE d.state END,
                delivered_at = coalesce(d.delivered_at, now())
           FROM a WHERE d.id = a.delivery_id`,
        [e.messageSid],
      );
    } else if (SMS_TERMINAL_FAILURES.has(e.status)) {
      const failed = await this.failByProviderId(
        e.messageSid,
        e.errorCode,
        `sms ${e.status}`,
        e.status,
      );
      if (failed) await this.sender.failover(failed);
    }
  }

  async callStatus(
    attemptId: string,
    e: { callSid: string; status: string; duration?: number; errorCode?: string },
  ): Promise<void> {
    if (e.status === 'in-progress' || e.status === 'answered') {
      await this.db.query(
        `UPDATE contact_attempts SET answered_at = coalesce(answered_at, now()) WHERE id = $1`,
        [attemptId],
      );
      return;
    }
    if (e.status === 'completed') {
      await this.db.query(
        `WITH a AS (
           UPDATE contact_attempts SET status = 'completed', outcome = coalesce(outcome, 'completed'), duration_s = $2,
                  completed_at = now(), answered_at = coalesce(answered_at, now())
            WHERE id = $1 AND status IN ('sending', 'sent', 'delivered') RETURNING delivery_id)
         UPDATE deliveries d SET state = CASE WHEN d.state IN ('pending', 'sent') THEN 'delivered' ELSE d.state END,
                delivered_at = coalesce(d.delivered_at, now())
           FROM a WHERE d.id = a.delivery_id`,
        [attemptId, e.duration ?? null],
      );
      // Hanging up before the message ended is not an answer: the call is placed again.
      const [call] = await this.db.query(
        `SELECT heard, digits FROM contact_attempts WHERE id = $1`,
        [attemptId],
      );
      if (call && !call.heard && !call.digits) {
        await this.db.query(`UPDATE contact_attempts SET outcome = 'hung_up_early' WHERE id = $1`, [
          attemptId,
        ]);
        await this.escalation.onCallUnanswered(attemptId);
      }
      return;
    }
    if (CALL_FAILURES.has(e.status)) {
      const [row] = await rows(
        this.db,
        `UPDATE contact_attempts SET status = 'failed', outcome = $2, error_code = $3, failed_at = now()
          WHERE id = $1 AND status IN ('sending', 'sent') RETURNING id`,
        [attemptId, e.status.replace('-', '_'), e.errorCode ?? null],
      );
      // A dead number moves on to the next contact point; no-answer and busy are for 叫应 retries.
      if (row && e.status === 'failed') {
        const a = await this.attempt(attemptId);
        if (a) await this.sender.failover(a);
      } else if (row) {
        await this.escalation.onCallUnanswered(attemptId);
      }
    }
  }

  /**
   * A keypress during the message (barge-in counts) or after it: 1 confirms, 2 asks for help,
   * recorded as a voice answer once per call (`voice:<CallSid>`, so the same gather posted twice
   * is one answer); any other key is kept as an ambiguous answer of that round.
   */
  async keypress(e: {
    attemptId: string;
    digits: string;
    callSid: string;
    round?: number;
  }): Promise<'confirmed' | 'declined' | 'other'> {
    const outcome = e.digits === '1' ? 'confirmed' : e.digits === '2' ? 'declined' : 'other';
    const [a] = await rows<{ delivery_id: string }>(
      this.db,
      `UPDATE contact_attempts SET digits = $2, heard = true, answered_at = coalesce(answered_at, now())
        WHERE id = $1 RETURNING delivery_id`,
      [e.attemptId, e.digits],
    );
    if (a) {
      const call = e.callSid || e.attemptId;
      await this.answers.record({
        deliveryId: a.delivery_id,
        kind: outcome === 'confirmed' ? 'confirm' : outcome === 'declined' ? 'help' : 'ambiguous',
        channel: 'voice',
        attemptId: e.attemptId,
        raw: e.digits,
        dedupeKey: outcome === 'other' ? `voice:${call}:${e.round ?? 1}` : `voice:${call}`,
      });
    }
    return outcome;
  }

  /** The whole message played through without a key: heard, not yet confirmed. */
  async heard(attemptId: string): Promise<void> {
    const [a] = await rows<{ delivery_id: string }>(
      this.db,
      `UPDATE contact_attempts SET heard = true WHERE id = $1 RETURNING delivery_id`,
      [attemptId],
    );
    if (a) {
      await this.db.query(
        `UPDATE deliveries SET heard_at = coalesce(heard_at, now()),
                state = CASE WHEN state IN ('pending', 'sent', 'delivered') THEN 'heard' ELSE state END
          WHERE id = $1`,
        [a.delivery_id],
      );
    }
  }

  /** Inbound SMS: stored once per provider id (Twilio retries webhooks). */
  async inboundSms(e: { messageSid: string; from: string; body: string }): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO inbound_messages (provider, provider_id, from_address, body) VALUES ('twilio', $1, $2, $3)
       ON CONFLICT (provider, provider_id) DO NOTHING RETURNING id`,
      [e.messageSid, e.from, e.body],
    );
    return rows.length > 0;
  }

  async broadcastReceipt(e: {
    taskRef: string;
    terminalCode: string;
    status: string;
    playedAt?: Date;
    repeat?: number;
  }): Promise<void> {
    if (!/^[0-9a-f-]{36}$/i.test(e.taskRef)) return;
    await this.db.query(
      `INSERT INTO broadcast_receipts (group_send_id, terminal_code, status, played_at, repeat)
       SELECT id, $2, $3, $4, $5 FROM group_sends WHERE id = $1
       ON CONFLICT (group_send_id, terminal_code) DO UPDATE SET status = EXCLUDED.status, played_at = EXCLUDED.played_at,
         repeat = EXCLUDED.repeat, received_at = now()`,
      [e.taskRef, e.terminalCode, e.status, e.playedAt ?? null, e.repeat ?? null],
    );
  }

  private async failByProviderId(
    providerId: string,
    code: string | undefined,
    message: string,
    outcome: string,
  ) {
    const [row] = await rows<{ id: string }>(
      this.db,
      `UPDATE contact_attempts SET status = 'failed', outcome = $4, error_code = $2, error_message = $3, failed_at = now()
        WHERE provider = 'twilio' AND provider_id = $1 AND status IN ('sending', 'sent', 'delivered') RETURNING id`,
      [providerId, code ?? null, message, outcome],
    );
    return row ? this.attempt(row.id) : undefined;
  }

  private async attempt(id: string): Promise<AttemptRow | undefined> {
    const [row] = await this.db.query(
      `SELECT a.id, a.delivery_id AS "deliveryId", a.warning_id AS "warningId", a.version, a.msg_type AS "msgType",
              a.channel, a.address, a.priority, d.person_id AS "personId"
         FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE a.id = $1`,
      [id],
    );
    return row;
  }
}
