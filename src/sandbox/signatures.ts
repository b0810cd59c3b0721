import { createHmac } from 'node:crypto';

/**
 * Request signatures of the group robots (as the vendors document them) and of the broadcast
 * platform (our contract). The gateway computes the same values; the sandbox recomputes them to
 * accept or refuse a request.
 */

/**
 * DingTalk: base64(HMAC-SHA256(key = secret, message = `${timestamp}\n${secret}`)), timestamp in
 * milliseconds. Sent URL-encoded in `&timestamp=…&sign=…`.
 */
export function dingTalkSign(secret: string, timestampMs: number | string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/**
 * Feishu: base64(HMAC-SHA256(key = `${timestamp}\n${secret}`, message = empty)), timestamp in
 * seconds. Sent in the JSON body as `timestamp` and `sign`.
 */
export function feishuSign(secret: string, timestampSec: number | string): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

/** The broadcast platform: hex(HMAC-SHA256(key = secret, message = raw request body)). */
export function broadcastSignature(secret: string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}
