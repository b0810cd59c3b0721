import twilio from 'twilio';
import { gatherRoundOf } from '../voice/twiml';

/**
 * Twilio's webhooks to the gateway: checking `X-Twilio-Signature` and reading the bodies.
 *
 * Routes the gateway serves (all POST, form-encoded):
 *   /webhooks/twilio/sms/status                 SMS status callback      → parseSmsStatusEvent
 *   /webhooks/twilio/sms                        incoming SMS (replies)   → parseInboundSmsEvent
 *   /webhooks/twilio/voice/:attemptId/twiml     the call's first TwiML   (answer warningCallTwiml)
 *   /webhooks/twilio/voice/:attemptId/gather    keypress / no keypress   → parseGatherEvent
 *   /webhooks/twilio/voice/:attemptId/status    call progress            → parseCallStatusEvent
 */
export type TwilioParams = Record<string, string | string[] | undefined>;

export interface TwilioWebhookRequest {
  /**
   * The full URL Twilio requested, as Twilio saw it: public scheme, host and path plus the query
   * string (PUBLIC_BASE_URL + req.originalUrl behind a proxy; see publicWebhookUrl).
   */
  url: string;
  /** The form parameters of a POST (for a GET the parameters are in `url`: pass {}). */
  params: TwilioParams;
  /** The `X-Twilio-Signature` header. */
  signature: string | string[] | undefined;
}

/** `https://gw.example.cn/base` + `/webhooks/twilio/sms?x=1` → the URL Twilio signed. */
export function publicWebhookUrl(publicBaseUrl: string, originalUrl: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}${originalUrl.startsWith('/') ? '' : '/'}${originalUrl}`;
}

function cleanParams(params: TwilioParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined) out[key] = value;
  return out;
}

/** True when the request carries a valid signature for `authToken` (the SDK's validateRequest). */
export function verifyTwilioSignature(authToken: string, request: TwilioWebhookRequest): boolean {
  const signature = Array.isArray(request.signature) ? request.signature[0] : request.signature;
  if (!signature || !authToken) return false;
  try {
    return twilio.validateRequest(authToken, signature, request.url, cleanParams(request.params));
  } catch {
    return false; // an unparsable URL is not a valid request
  }
}

/** The same check bound to the account's auth token (provided by ChannelsModule). */
export class TwilioWebhookVerifier {
  constructor(private readonly authToken: string) {}

  verify(request: TwilioWebhookRequest): boolean {
    return verifyTwilioSignature(this.authToken, request);
  }
}

/** A webhook body without a parameter it must have, or with an unknown status. */
export class TwilioWebhookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TwilioWebhookError';
  }
}

function one(params: TwilioParams, key: string): string | undefined {
  const value = params[key];
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v === '' ? undefined : v;
}

function required(params: TwilioParams, key: string): string {
  const value = one(params, key);
  if (value === undefined) throw new TwilioWebhookError(`missing ${key}`);
  return value;
}

function int(params: TwilioParams, key: string): number | undefined {
  const value = one(params, key);
  if (value === undefined) return undefined;
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : undefined;
}

function oneOf<T extends string>(params: TwilioParams, key: string, allowed: readonly T[]): T {
  const value = required(params, key);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new TwilioWebhookError(`unknown ${key}: ${value}`);
  }
  return value as T;
}

/* ---- SMS status callback ---- */

export const SMS_STATUSES = [
  'accepted',
  'scheduled',
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'read',
  'canceled',
  'partially_delivered',
  'receiving',
  'received',
] as const;
export type SmsStatus = (typeof SMS_STATUSES)[number];
/** Statuses after which no further callback comes for the message. */
export const FINAL_SMS_STATUSES: ReadonlySet<SmsStatus> = new Set([
  'delivered',
  'undelivered',
  'failed',
  'read',
  'canceled',
]);

export interface SmsStatusEvent {
  messageSid: string;
  status: SmsStatus;
  /** No later status will come. */
  final: boolean;
  accountSid?: string;
  to?: string;
  from?: string;
  messagingServiceSid?: string;
  /** Carrier error on undelivered/failed, e.g. 30003 unreachable handset, 30005 unknown number. */
  errorCode?: number;
}

export function parseSmsStatusEvent(params: TwilioParams): SmsStatusEvent {
  const status = oneOf(
    params,
    one(params, 'MessageStatus') ? 'MessageStatus' : 'SmsStatus',
    SMS_STATUSES,
  );
  const errorCode = int(params, 'ErrorCode');
  const to = one(params, 'To');
  const from = one(params, 'From');
  const accountSid = one(params, 'AccountSid');
  const service = one(params, 'MessagingServiceSid');
  return {
    messageSid: one(params, 'MessageSid') ?? required(params, 'SmsSid'),
    status,
    final: FINAL_SMS_STATUSES.has(status),
    ...(accountSid ? { accountSid } : {}),
    ...(to ? { to } : {}),
    ...(from ? { from } : {}),
    ...(service ? { messagingServiceSid: service } : {}),
    ...(errorCode !== undefined ? { errorCode } : {}),
  };
}

/* ---- incoming SMS ---- */

export interface InboundSmsEvent {
  messageSid: string;
  /** The person's number (E.164). */
  from: string;
  /** Our number. */
  to: string;
  body: string;
  numSegments: number;
  accountSid?: string;
  messagingServiceSid?: string;
}

export function parseInboundSmsEvent(params: TwilioParams): InboundSmsEvent {
  const accountSid = one(params, 'AccountSid');
  const service = one(params, 'MessagingServiceSid');
  const body = params.Body;
  return {
    messageSid: one(params, 'MessageSid') ?? required(params, 'SmsSid'),
    from: required(params, 'From'),
    to: required(params, 'To'),
    body: (Array.isArray(body) ? body[0] : body) ?? '',
    numSegments: int(params, 'NumSegments') ?? 1,
    ...(accountSid ? { accountSid } : {}),
    ...(service ? { messagingServiceSid: service } : {}),
  };
}

/* ---- call status callback ---- */

export const CALL_STATUSES = [
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];
export const FINAL_CALL_STATUSES: ReadonlySet<CallStatus> = new Set([
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
]);

export interface CallStatusEvent {
  callSid: string;
  status: CallStatus;
  final: boolean;
  accountSid?: string;
  to?: string;
  from?: string;
  /** Seconds from answer to hang-up (`CallDuration`, final callbacks only; 0 if never answered). */
  durationSec?: number;
  /** With answering-machine detection: human, machine_start, fax, unknown… */
  answeredBy?: string;
  /** Twilio error code of a failed call. */
  errorCode?: number;
  /** SIP response of the far end, e.g. 486 busy, 487 canceled, 404 no such number. */
  sipResponseCode?: number;
  /** Order of the callbacks of one call (they may arrive out of order). */
  sequenceNumber?: number;
  /** When Twilio emitted the callback. */
  timestamp?: Date;
}

export function parseCallStatusEvent(params: TwilioParams): CallStatusEvent {
  const status = oneOf(params, 'CallStatus', CALL_STATUSES);
  const accountSid = one(params, 'AccountSid');
  const to = one(params, 'To');
  const from = one(params, 'From');
  const durationSec = int(params, 'CallDuration');
  const answeredBy = one(params, 'AnsweredBy');
  const errorCode = int(params, 'ErrorCode');
  const sipResponseCode = int(params, 'SipResponseCode');
  const sequenceNumber = int(params, 'SequenceNumber');
  const ts = one(params, 'Timestamp');
  const timestamp = ts ? new Date(ts) : undefined;
  return {
    callSid: required(params, 'CallSid'),
    status,
    final: FINAL_CALL_STATUSES.has(status),
    ...(accountSid ? { accountSid } : {}),
    ...(to ? { to } : {}),
    ...(from ? { from } : {}),
    ...(durationSec !== undefined ? { durationSec } : {}),
    ...(answeredBy ? { answeredBy } : {}),
    ...(errorCode !== undefined ? { errorCode } : {}),
    ...(sipResponseCode !== undefined ? { sipResponseCode } : {}),
    ...(sequenceNumber !== undefined ? { sequenceNumber } : {}),
    ...(timestamp && !Number.isNaN(timestamp.getTime()) ? { timestamp } : {}),
  };
}

/* ---- Gather (keypress) ---- */

export interface GatherEvent {
  callSid: string;
  /** The key pressed; '' when the prompt ended without one (actionOnEmptyResult). */
  digits: string;
  /** The gather round (from the action URL's `?round=`), 1 for the first playing. */
  round: number;
  finishedOnKey?: string;
  callStatus?: string;
  accountSid?: string;
  to?: string;
  from?: string;
}

/** `url` is the request URL (for the round); `params` the form body. */
export function parseGatherEvent(params: TwilioParams, url: string): GatherEvent {
  const finishedOnKey = one(params, 'FinishedOnKey');
  const callStatus = one(params, 'CallStatus');
  const accountSid = one(params, 'AccountSid');
  const to = one(params, 'To');
  const from = one(params, 'From');
  return {
    callSid: required(params, 'CallSid'),
    digits: one(params, 'Digits') ?? '',
    round: gatherRoundOf(url),
    ...(finishedOnKey ? { finishedOnKey } : {}),
    ...(callStatus ? { callStatus } : {}),
    ...(accountSid ? { accountSid } : {}),
    ...(to ? { to } : {}),
    ...(from ? { from } : {}),
  };
}
