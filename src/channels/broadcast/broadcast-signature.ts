import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  BroadcastReceiptError,
  parseBroadcastReceipt,
  type BroadcastReceiptEvent,
} from './broadcast-receipt';

/** Header carrying hex(HMAC-SHA256(BROADCAST_SECRET, raw body)), in both directions. */
export const BROADCAST_SIGNATURE_HEADER = 'X-Broadcast-Signature';

export function broadcastSignature(secret: string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

/**
 * True when `signatureHeader` is the signature of exactly these bytes. Verify the raw body as
 * received (before any JSON parsing: a re-serialised body would not match).
 */
export function verifyBroadcastReceipt(
  rawBody: string | Buffer,
  signatureHeader: string | string[] | undefined,
  secret: string,
): boolean {
  const given = (Array.isArray(signatureHeader) ? signatureHeader[0] : signatureHeader)
    ?.trim()
    .toLowerCase();
  if (!given || !secret || !/^[0-9a-f]{64}$/.test(given)) return false;
  const expected = broadcastSignature(secret, rawBody);
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expected, 'hex'));
}

/**
 * verifyBroadcastReceipt bound to BROADCAST_SECRET (provided by ChannelsModule), plus parsing:
 * `verify` returns the receipt when the signature is valid and the body is a receipt, else null
 * (answer 403/400). Always null when no secret is configured.
 */
export class BroadcastReceiptVerifier {
  constructor(private readonly secret: string | undefined) {}

  verify(
    rawBody: string | Buffer,
    signatureHeader: string | string[] | undefined,
  ): BroadcastReceiptEvent | null {
    if (!this.secret || !verifyBroadcastReceipt(rawBody, signatureHeader, this.secret)) return null;
    try {
      return parseBroadcastReceipt(rawBody);
    } catch (err) {
      if (err instanceof BroadcastReceiptError) return null;
      throw err;
    }
  }
}
