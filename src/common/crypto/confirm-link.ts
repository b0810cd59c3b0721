import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed confirmation links: a token bound to one delivery and an expiry, HMAC-SHA256 under a key
 * derived from APP_SECRET. Compact (the uuid and expiry in binary) so that it fits robot
 * messages and long SMS. Format: base64url(uuid16 ‖ expiry u32) "." base64url(mac[0..16)).
 */
export class ConfirmLinkSigner {
  private readonly key: Buffer;

  constructor(appSecret: string) {
    this.key = createHash('sha256').update(`confirm-link:${appSecret}`).digest();
  }

  sign(deliveryId: string, expiresAt: Date): string {
    const payload = Buffer.alloc(20);
    Buffer.from(deliveryId.replace(/-/g, ''), 'hex').copy(payload, 0);
    payload.writeUInt32BE(Math.floor(expiresAt.getTime() / 1000), 16);
    return `${payload.toString('base64url')}.${this.mac(payload).toString('base64url')}`;
  }

  /** The delivery id, or why the token is refused. */
  verify(
    token: string,
    now = new Date(),
  ):
    | { ok: true; deliveryId: string; expiresAt: Date }
    | { ok: false; reason: 'malformed' | 'forged' | 'expired' } {
    const [p, m] = token.split('.');
    if (!p || !m) return { ok: false, reason: 'malformed' };
    const payload = Buffer.from(p, 'base64url');
    const mac = Buffer.from(m, 'base64url');
    if (payload.length !== 20 || mac.length !== 16) return { ok: false, reason: 'malformed' };
    if (!timingSafeEqual(mac, this.mac(payload))) return { ok: false, reason: 'forged' };
    const expiresAt = new Date(payload.readUInt32BE(16) * 1000);
    if (expiresAt <= now) return { ok: false, reason: 'expired' };
    const hex = payload.subarray(0, 16).toString('hex');
    const deliveryId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    return { ok: true, deliveryId, expiresAt };
  }

  private mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, 16);
  }
}
