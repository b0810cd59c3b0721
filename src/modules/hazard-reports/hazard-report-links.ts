import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PublicUrls } from '../../common/public-urls';
import { ConfirmLinkSigner } from '../../common/crypto/confirm-link';

/** How long the acknowledgement link of a notice works. */
export const ACK_LINK_HOURS = 24;
/** Longer than any token the signer makes (43 characters): refused before any work. */
export const MAX_ACK_TOKEN_LENGTH = 100;

/**
 * The signed acknowledgement link of a report notice (/c/h/:token): the warnings' signed-link format
 * (ConfirmLinkSigner: the notice id and an expiry, HMAC-SHA256), under a key of its own (derived
 * from APP_SECRET with a `hazard-report:` label), so a warning's link is never a report's.
 */
@Injectable()
export class HazardReportLinks {
  private readonly signer: ConfirmLinkSigner;

  constructor(
    config: ConfigService,
    private readonly urls: PublicUrls,
  ) {
    this.signer = new ConfirmLinkSigner(`hazard-report:${config.get<string>('APP_SECRET') ?? ''}`);
  }

  token(noticeId: string, expiresAt: Date): string {
    return this.signer.sign(noticeId, expiresAt);
  }

  /** The link of a notice, valid ACK_LINK_HOURS from `from` (the report's time). */
  url(noticeId: string, from: Date): string {
    const expires = new Date(from.getTime() + ACK_LINK_HOURS * 3600_000);
    return this.urls.url(`/c/h/${this.token(noticeId, expires)}`);
  }

  /** The notice id, the canonical token, or why the token is refused. */
  verify(
    token: string,
  ):
    | { ok: true; noticeId: string; canonical: string }
    | { ok: false; reason: 'expired' | 'invalid' } {
    if (!token || token.length > MAX_ACK_TOKEN_LENGTH) return { ok: false, reason: 'invalid' };
    const v = this.signer.verify(token);
    if (!v.ok) return { ok: false, reason: v.reason === 'expired' ? 'expired' : 'invalid' };
    return {
      ok: true,
      noticeId: v.deliveryId,
      canonical: this.signer.sign(v.deliveryId, v.expiresAt),
    };
  }
}
