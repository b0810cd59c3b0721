import type { VoiceCallRequest, VoiceChannel } from '../channel.interface';
import { ChannelError, type SendReceipt } from '../channel.types';
import type { TwilioClient } from '../twilio/twilio-client.factory';
import { twilioChannelError } from '../twilio/twilio-errors';

export interface TwilioVoiceOptions {
  /** Caller ID (E.164): calls cannot go out through a Messaging Service. */
  fromNumber: string;
  /** Default ring time before `no-answer`, seconds (default 30). */
  ringTimeoutSec?: number;
}

/** Every progress event, so the attempt shows ringing and answered times, not only the end. */
export const CALL_STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;
const DEFAULT_RING_TIMEOUT_SEC = 30;
const E164 = /^\+[1-9]\d{1,14}$/;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

/** Outbound calls through Twilio's Calls API (`POST /2010-04-01/Accounts/{Sid}/Calls.json`). */
export class TwilioVoiceChannel implements VoiceChannel {
  readonly kind = 'voice' as const;

  constructor(
    private readonly client: TwilioClient,
    private readonly options: TwilioVoiceOptions,
  ) {}

  /**
   * Places the call; Twilio fetches `twimlUrl` (POST) when the callee answers and reports
   * initiated/ringing/answered/completed to `statusCallbackUrl`.
   */
  async call(request: VoiceCallRequest): Promise<SendReceipt> {
    if (!E164.test(request.to)) {
      throw new ChannelError('permanent', 'invalid_number', `not an E.164 number: ${request.to}`);
    }
    const timeout = Math.min(
      Math.max(
        Math.round(
          request.ringTimeoutSec ?? this.options.ringTimeoutSec ?? DEFAULT_RING_TIMEOUT_SEC,
        ),
        5,
      ),
      600,
    );
    try {
      const call = await this.client.calls.create({
        to: request.to,
        from: this.options.fromNumber,
        url: request.twimlUrl,
        method: 'POST',
        timeout,
        ...(request.statusCallbackUrl
          ? {
              statusCallback: request.statusCallbackUrl,
              statusCallbackMethod: 'POST',
              statusCallbackEvent: [...CALL_STATUS_EVENTS],
            }
          : {}),
      });
      return { providerId: call.sid, status: call.status };
    } catch (err) {
      throw twilioChannelError(err, `the call to ${request.to}`);
    }
  }

  /**
   * Ends the call: one still ringing is canceled, one in progress is completed (Twilio turns
   * `completed` into `canceled` for a call not answered yet). Ending a finished call is a no-op.
   */
  async hangUp(callSid: string): Promise<void> {
    if (!CALL_SID.test(callSid)) {
      throw new ChannelError('permanent', 'invalid_call_sid', `not a Twilio call SID: ${callSid}`);
    }
    try {
      await this.client.calls(callSid).update({ status: 'completed' });
    } catch (err) {
      throw twilioChannelError(err, `hanging up ${callSid}`);
    }
  }

  async findPlaced(query: {
    to: string;
    since: Date;
    exclude: string[];
  }): Promise<SendReceipt | undefined> {
    try {
      const recent = await this.client.calls.list({ to: query.to, limit: 100 });
      // The earliest call since then that no attempt has recorded (the list is newest first).
      const found = recent
        .filter(
          (c) =>
            c.dateCreated >= query.since &&
            !query.exclude.includes(c.sid) &&
            !String(c.direction ?? 'outbound').startsWith('inbound'),
        )
        .pop();
      return found ? { providerId: found.sid, status: found.status } : undefined;
    } catch (err) {
      throw twilioChannelError(err, `the call list for ${query.to}`);
    }
  }

  async statusOf(
    callSid: string,
  ): Promise<{ status: string; durationS?: number; errorCode?: string }> {
    try {
      const c = await this.client.calls(callSid).fetch();
      const duration = Number.parseInt(c.duration ?? '', 10);
      return { status: c.status, ...(Number.isFinite(duration) ? { durationS: duration } : {}) };
    } catch (err) {
      throw twilioChannelError(err, `the status of ${callSid}`);
    }
  }
}
