import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ANSWERS_DB } from '../../database/data-source';
import { DataSource } from 'typeorm';
import { EscalationService } from '../dispatch/escalation.service';
import { SendAttemptService } from '../dispatch/send-attempt.service';
import { type AttemptRow, DispatchRepository } from '../dispatch/dispatch.repository';
import { SendMoves } from '../chain/send-moves.repository';
import { AnswersService } from '../chain/answers.service';
import { ChainMoves, type KeypressCall, smsMatch } from '../chain/chain-moves.repository';

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
    @InjectDataSource(ANSWERS_DB) private readonly db: DataSource,
    private readonly sender: SendAttemptService,
    private readonly answers: AnswersService,
    private readonly escalation: EscalationService,
    private readonly moves: ChainMoves,
    private readonly repo: DispatchRepository,
    private readonly sendMoves: SendMoves,
  ) {}

  /**
   * An SMS status callback. With the attempt id (from the callback URL) it is matched even when it
   * beats the recording of the send (the provider id is not stored yet); without, by MessageSid.
   */
  async smsStatus(e: {
    messageSid: string;
    status: string;
    errorCode?: string;
    attemptId?: string;
  }): Promise<void> {
    if (e.attemptId && e.messageSid) await this.recordNamed(e.attemptId, e.messageSid);
    const match = smsMatch(e);
    if (e.status === 'delivered') {
      await this.moves.markSmsDelivered(match, e);
    } else if (SMS_TERMINAL_FAILURES.has(e.status)) {
      const moved = await this.moves.failSms(match, e.errorCode, `sms ${e.status}`, e.status);
      const failed = moved ? await this.attempt(moved.id) : undefined;
      if (failed) await this.sender.failover(failed);
    }
  }

  /**
   * Delivery receipts of many SMS at once (the status poll's listing): one statement for the page,
   * as `smsStatus` would move each. Returns the attempts moved.
   */
  smsDeliveredMany(items: { attemptId: string; messageSid: string }[]): Promise<string[]> {
    return this.moves.markSmsDeliveredMany(items);
  }

  async callStatus(
    attemptId: string,
    e: { callSid: string; status: string; duration?: number; errorCode?: string },
  ): Promise<void> {
    if (e.callSid) await this.recordNamed(attemptId, e.callSid);
    if (e.status === 'in-progress' || e.status === 'answered') {
      await this.moves.markCallAnswered(attemptId);
      return;
    }
    if (e.status === 'completed') {
      // Hanging up before the message ended (nothing heard, no key) is not an answer: the outcome
      // is hung_up_early, set in the same statement so that the event carries the final outcome,
      // and the call is placed again.
      const completed = await this.moves.completeCall(attemptId, e);
      if (completed?.outcome === 'hung_up_early') await this.escalation.onCallUnanswered(attemptId);
      return;
    }
    if (CALL_FAILURES.has(e.status)) {
      const outcome = e.status.replace('-', '_');
      const row = await this.moves.failCall(attemptId, outcome, e);
      // A dead number moves on to the next contact point; no-answer and busy are for 叫应 retries.
      if (row && e.status === 'failed') {
        const a = await this.attempt(attemptId);
        if (a) await this.sender.failover(a);
      } else if (row) {
        await this.escalation.onCallUnanswered(attemptId);
        // No retry left (none was queued) and every other contact failed too: the person is
        // unreachable, and says why, rather than `sent` for good.
        const a = await this.attempt(attemptId);
        if (a?.purpose === 'warning') await this.sendMoves.markUnreachableIfExhausted(a.deliveryId);
      }
    }
  }

  /**
   * A keypress during the message (barge-in counts) or after it: 1 confirms, 2 asks for help,
   * recorded as a voice answer once per call (`voice:<CallSid>`, so the same gather posted twice
   * is one answer); any other key is kept as an ambiguous answer of that round. The key and the
   * answer commit together. Returns the call (undefined for an unknown attempt).
   */
  async keypress(e: {
    attemptId: string;
    digits: string;
    callSid: string;
    round?: number;
    /** When it was received, for a keypress replayed from the inbound spool (else now). */
    receivedAt?: Date;
  }): Promise<KeypressCall | undefined> {
    const outcome = e.digits === '1' ? 'confirmed' : e.digits === '2' ? 'declined' : 'other';
    const kind =
      outcome === 'confirmed' ? 'confirm' : outcome === 'declined' ? 'help' : 'ambiguous';
    const call = e.callSid || e.attemptId;
    const dedupeKey = outcome === 'other' ? `voice:${call}:${e.round ?? 1}` : `voice:${call}`;
    const a = await this.answers.recordKeypress(
      { attemptId: e.attemptId, digits: e.digits, receivedAt: e.receivedAt },
      { kind, channel: 'voice', raw: e.digits, dedupeKey, receivedAt: e.receivedAt },
    );
    if (a?.purpose === 'notice')
      // A keypress on a notice call acknowledges the notice (or asks for support).
      await this.answers.answerNotice({
        attemptId: e.attemptId,
        kind,
        channel: 'voice',
        raw: e.digits,
        dedupeKey,
        receivedAt: e.receivedAt,
      });
    return a;
  }

  /**
   * The whole message played through without a key: heard, not yet confirmed. Recorded once per
   * call, when it is first marked heard (a later round heard again changes nothing).
   */
  async heard(attemptId: string, receivedAt?: Date): Promise<void> {
    await this.moves.markHeard(attemptId, receivedAt);
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

  /**
   * The provider names the message or call of an attempt (its callback URL) whose try gave up on
   * its request: recorded with the provider's id (the rare case: looked at first on this pool).
   */
  private async recordNamed(attemptId: string, providerId: string): Promise<void> {
    if (await this.moves.awaitsProviderId(attemptId))
      await this.sendMoves.recordFromCallback(attemptId, 'twilio', providerId);
  }

  private async attempt(id: string): Promise<AttemptRow | undefined> {
    const [row] = await this.db.query(
      `SELECT a.id, a.delivery_id AS "deliveryId", a.warning_id AS "warningId", a.version, a.msg_type AS "msgType",
              a.channel, a.address, a.priority, a.purpose, d.person_id AS "personId"
         FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE a.id = $1`,
      [id],
    );
    return row;
  }
}
