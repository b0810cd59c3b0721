import type { Principal } from '../../common/auth/auth.decorators';

/** Duty officers (and admins) see numbers in full; auditors and grid members see them masked. */
export function seesFullContacts(principal: Principal): boolean {
  return principal.role === 'duty_officer' || principal.role === 'admin';
}

/**
 * Masks a contact value: phone numbers keep their first six and last four characters
 * (+8613800000004 → +86138****0004), e-mail addresses their first character and domain,
 * anything else (robot identities) all but its last four characters.
 */
export function maskContact(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const v = String(value);
  if (/^\+?[0-9][0-9 -]{5,}$/.test(v)) {
    const digits = v.replace(/[ -]/g, '');
    if (digits.length <= 10) return `${digits.slice(0, 3)}****${digits.slice(-2)}`;
    return `${digits.slice(0, 6)}****${digits.slice(-4)}`;
  }
  const at = v.indexOf('@');
  if (at > 0) return `${v[0]}***${v.slice(at)}`;
  if (v.length <= 4) return '****';
  return `****${v.slice(-4)}`;
}

/** A masker for the principal: identity for those who may see contacts in full. */
export function contactMasker(
  principal: Principal,
): (v: string | null | undefined) => string | null {
  return seesFullContacts(principal) ? (v) => (v === undefined ? null : v) : maskContact;
}
