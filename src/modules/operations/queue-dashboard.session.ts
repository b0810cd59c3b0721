import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Credentials of the queue dashboard for browsers, which cannot send a bearer header:
 * - a **ticket**: a URL parameter good for `TICKET_SECONDS`, traded once for the cookie;
 * - a **session**: an HttpOnly, SameSite=Strict cookie on /admin/queues good for
 *   `SESSION_SECONDS`.
 * Both name the admin token they were issued for and are signed (HMAC-SHA256, key derived from
 * APP_SECRET); the token is looked up again on every request, so revoking it ends the session.
 */
export const QUEUE_DASHBOARD_PATH = '/admin/queues';
export const SESSION_COOKIE = 'wg_queue_dashboard';
export const TICKET_PARAM = 'ticket';
export const TICKET_SECONDS = 60;
export const SESSION_SECONDS = 30 * 60;

export type CredentialKind = 'ticket' | 'session';

interface Claims {
  /** The admin token's id. */
  t: string;
  k: CredentialKind;
  /** Expiry, seconds since the epoch. */
  e: number;
}

function keyOf(appSecret: string): Buffer {
  return createHmac('sha256', appSecret).update('queue-dashboard/v1').digest();
}

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

export class DashboardCredentials {
  private readonly key: Buffer;

  constructor(appSecret: string) {
    this.key = keyOf(appSecret);
  }

  issue(
    tokenId: string,
    kind: CredentialKind,
    now = Date.now(),
  ): { value: string; expiresAt: Date } {
    const seconds = kind === 'ticket' ? TICKET_SECONDS : SESSION_SECONDS;
    const e = Math.floor(now / 1000) + seconds;
    const payload = Buffer.from(
      JSON.stringify({ t: tokenId, k: kind, e } satisfies Claims),
    ).toString('base64url');
    return { value: `${payload}.${mac(this.key, payload)}`, expiresAt: new Date(e * 1000) };
  }

  /** The token id a valid, unexpired credential of this kind was issued for, else null. */
  verify(value: string | undefined, kind: CredentialKind, now = Date.now()): string | null {
    if (!value || value.length > 512) return null;
    const dot = value.indexOf('.');
    if (dot <= 0) return null;
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(mac(this.key, payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims;
    } catch {
      return null;
    }
    if (claims.k !== kind || typeof claims.t !== 'string' || typeof claims.e !== 'number')
      return null;
    if (claims.e * 1000 <= now) return null;
    return claims.t;
  }
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value of a session (or of its removal, with `maxAge` 0). */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    `Path=${QUEUE_DASHBOARD_PATH}`,
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
