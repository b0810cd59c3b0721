/**
 * One interface per channel type (the Novu shape: `ISmsProvider`, `IChatProvider`…); one small
 * class per vendor implements it (sms/, voice/, email/, group-robot/, broadcast/), and
 * ChannelRegistry hands out the configured one. Every method either resolves with what the
 * provider said when it accepted the message, or rejects with a ChannelError whose `kind` tells
 * dispatch what to do next (channel.types.ts).
 */
import type { RobotPlatform } from '../common/domain/directory.types';
import type { RobotMessagePart } from '../templates/types';
import type { SendReceipt } from './channel.types';

/* ---- SMS ---- */

export interface SmsSendRequest {
  /** E.164, e.g. +8613800000000. */
  to: string;
  /** The rendered text (src/templates sms). Prefixed with 【SMS_SIGNATURE】 when it has none. */
  body: string;
  /** POST /webhooks/twilio/sms/status?attempt=… (absolute, public). */
  statusCallbackUrl?: string;
}

export interface SmsChannel {
  readonly kind: 'sms';
  send(request: SmsSendRequest): Promise<SendReceipt>;
  /**
   * An SMS with this body already accepted for `to` since `since`, if the provider has one: asked
   * before a send whose outcome was lost is sent again. Optional: providers that cannot say.
   */
  findSent?(query: {
    to: string;
    body: string;
    since: Date;
    /** Message ids recorded already (the same text sent again on purpose). */
    exclude: string[];
  }): Promise<SendReceipt | undefined>;
  /** What the provider says of a message now (its status callbacks may have been lost). */
  statusOf?(providerId: string): Promise<{ status: string; errorCode?: string }>;
  /**
   * The provider's messages sent since `since`, newest first, a page at a time (Twilio: up to 1000
   * per request), for as long as `visit` returns true: the statuses of many sends in a few
   * requests.
   */
  listSentSince?(since: Date, visit: (page: ListedMessage[]) => Promise<boolean>): Promise<void>;
}

/* ---- voice ---- */

export interface VoiceCallRequest {
  /** E.164. */
  to: string;
  /** POST /webhooks/twilio/voice/:attemptId/twiml (absolute, public): the call's first TwiML. */
  twimlUrl: string;
  /** POST /webhooks/twilio/voice/:attemptId/status (absolute, public). */
  statusCallbackUrl?: string;
  /** Seconds to let the phone ring before giving up (no-answer); default 30. */
  ringTimeoutSec?: number;
}

export interface VoiceChannel {
  readonly kind: 'voice';
  call(request: VoiceCallRequest): Promise<SendReceipt>;
  /** Ends a call (ringing: canceled; in progress: completed). A finished call is left as it is. */
  hangUp(callSid: string): Promise<void>;
  /**
   * A call placed to `to` since `since` whose id is not in `exclude` (calls recorded already), if
   * the provider has one: asked before a call whose outcome was lost is placed again.
   */
  findPlaced?(query: {
    to: string;
    since: Date;
    exclude: string[];
  }): Promise<SendReceipt | undefined>;
  /** What the provider says of a call now (its status callbacks may have been lost). */
  statusOf?(callSid: string): Promise<{ status: string; durationS?: number; errorCode?: string }>;
}

/* ---- email ---- */

export interface EmailSendRequest {
  to: string | string[];
  subject: string;
  text: string;
  html?: string;
  /** Extra headers, e.g. `X-Warning-Id`, `List-Unsubscribe`. */
  headers?: Record<string, string>;
}

export interface EmailChannel {
  readonly kind: 'email';
  send(request: EmailSendRequest): Promise<SendReceipt>;
}

/* ---- emergency broadcast ---- */

export interface BroadcastSendRequest {
  /** Our idempotency key (e.g. the attempt id): the platform answers a repeat with the same task. */
  taskRef: string;
  /** One reading (src/templates broadcast `text`). */
  text: string;
  /** Division codes whose terminals play it (when `terminalCodes` is empty). */
  areaCodes: string[];
  terminalCodes: string[];
  /** The warning level, e.g. 'red'. */
  level: string | number;
  /** Times the text is read, 1–10. */
  repeat: number;
  /** POST /webhooks/broadcast/receipts (absolute, public). */
  callbackUrl: string;
}

export interface BroadcastSendReceipt extends SendReceipt {
  /** Terminals the platform will play on; one receipt comes back per terminal. */
  terminals: string[];
}

export interface BroadcastChannel {
  readonly kind: 'broadcast';
  send(request: BroadcastSendRequest): Promise<BroadcastSendReceipt>;
}

/* ---- group robots (WeCom, DingTalk, Feishu) ---- */

/** A group robot as stored in the directory (secrets decrypted by the caller). */
export interface RobotTarget {
  /** The webhook URL with its key / access token. A secret: never logged. */
  webhookUrl: string;
  /** Signing secret (DingTalk `SEC…`, Feishu); absent or '' when the robot does not sign. */
  secret?: string;
  /** The directory's robot code: names the rate-limit key `wecom:<code>`. */
  code?: string;
}

/** One rendered robot message part plus the notification title (RobotMessage.title). */
export type RobotSendMessage = RobotMessagePart & { title: string };

export interface GroupRobotClient {
  readonly platform: RobotPlatform;
  send(robot: RobotTarget, message: RobotSendMessage): Promise<SendReceipt>;
  /** HTTP requests `send` makes for this message (each counts against the robot's rate limit). */
  requestsFor(message: RobotSendMessage): number;
}

/** One message as the provider lists it. */
export interface ListedMessage {
  providerId: string;
  status: string;
  errorCode?: string;
  /** When the provider sent it (or created it, not sent yet). */
  at: Date;
}
