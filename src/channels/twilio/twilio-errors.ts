import twilio from 'twilio';
import { ChannelError } from '../channel.types';

/**
 * Twilio error codes that say the number itself is wrong or cannot be reached: never worth a
 * retry on this channel (https://www.twilio.com/docs/api/errors).
 */
export const TWILIO_NUMBER_ERRORS: Readonly<Record<number, string>> = {
  13223: 'invalid phone number format (Dial)',
  13224: 'invalid phone number (Dial)',
  21211: "invalid 'To' phone number",
  21214: "'To' phone number cannot be reached",
  21215: 'geographic permission for this call is not enabled',
  21216: 'call blocked by Twilio',
  21217: 'phone number does not appear to be valid',
  21408: 'permission to send to this region is not enabled',
  21610: 'the recipient has unsubscribed (STOP)',
  21612: "cannot route between the 'From' and 'To' numbers",
  21614: "'To' is not a valid mobile number",
};

/** Twilio's own "too many requests" (concurrency / queue) code. */
const TOO_MANY_REQUESTS = 20429;
/** Wait before retrying after a 429: Twilio sends no Retry-After the SDK would expose. */
const RATE_LIMIT_RETRY_MS = 5_000;

/** Node / axios error codes of a request that never got an HTTP answer. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_NETWORK',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * Of those, the codes of a request that never left: no connection was made (refused, no such
 * host, no route, the connect itself timed out), so Twilio cannot have it.
 */
const NEVER_SENT_CODES = new Set([
  'ECONNREFUSED',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

function isRestException(err: unknown): err is twilio.RestException {
  return (
    err instanceof twilio.RestException ||
    (typeof err === 'object' &&
      err !== null &&
      (err as { name?: unknown }).name === 'RestException' &&
      typeof (err as { status?: unknown }).status === 'number')
  );
}

/**
 * What a failed Twilio REST call means for dispatch:
 * - the number is invalid or unreachable (21211, 21214, 21612, 21614 …) → permanent;
 * - 20429 or HTTP 429 → rate_limited;
 * - HTTP 5xx, no answer at all (refused, reset, timeout) → transient;
 * - any other 4xx (bad parameters, 401 credentials, 404) → permanent.
 * `what` names the operation in the message ("SMS to +86…").
 */
export function twilioChannelError(err: unknown, what: string): ChannelError {
  if (err instanceof ChannelError) return err;
  if (isRestException(err)) {
    const code = err.code !== undefined ? String(err.code) : `HTTP_${err.status}`;
    const message = `Twilio refused ${what}: ${err.message} (HTTP ${err.status}${err.code ? `, ${err.code}` : ''})`;
    if (err.code !== undefined && TWILIO_NUMBER_ERRORS[err.code]) {
      return new ChannelError('permanent', code, message);
    }
    if (err.code === TOO_MANY_REQUESTS || err.status === 429) {
      return new ChannelError('rate_limited', code, message, RATE_LIMIT_RETRY_MS);
    }
    if (err.status >= 500) return new ChannelError('transient', code, message);
    if (err.status >= 400) return new ChannelError('permanent', code, message);
    return new ChannelError('transient', code, message);
  }
  const errCode = (err as { code?: unknown } | null)?.code;
  const networkCode = typeof errCode === 'string' ? errCode : undefined;
  const detail = networkCode && NETWORK_CODES.has(networkCode) ? networkCode : 'no answer';
  // No HTTP answer: unless the connection was never made, Twilio may have accepted it, or may
  // still (a request held up on its way). The next try asks Twilio first, once it has had the
  // time to (SEND_UNANSWERED_SETTLE_MS); a send left unanswered is never simply sent again.
  const unanswered = !(networkCode && NEVER_SENT_CODES.has(networkCode));
  return new ChannelError(
    'transient',
    networkCode,
    `Twilio did not answer ${what} (${detail})`,
    undefined,
    unanswered,
  );
}
