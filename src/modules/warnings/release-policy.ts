import type { PersonRole } from '../../common/domain/directory.types';
import type { WarningLevel, WarningStatus } from '../../common/domain/warning.types';

/** TWO_PERSON_RELEASE: which warnings a second duty officer must approve before they go. */
export const TWO_PERSON_RELEASE_MODES = ['off', 'red_public', 'all'] as const;
export type TwoPersonRelease = (typeof TWO_PERSON_RELEASE_MODES)[number];

/** The setting (default red_public); a bad value is refused with a message naming the variable. */
export function twoPersonRelease(value = process.env.TWO_PERSON_RELEASE): TwoPersonRelease {
  const v = value?.trim() || 'red_public';
  if (!(TWO_PERSON_RELEASE_MODES as readonly string[]).includes(v))
    throw new Error(`TWO_PERSON_RELEASE must be one of off, red_public, all; got "${v}"`);
  return v as TwoPersonRelease;
}

/**
 * Whether a warning needs a second duty officer: `all` every warning issued over the API,
 * `red_public` a red actual warning whose audience names residents (a public red warning).
 */
export function needsSecondOfficer(
  w: { level: WarningLevel; status: WarningStatus; audience: PersonRole[] },
  mode: TwoPersonRelease = twoPersonRelease(),
): boolean {
  if (mode === 'off') return false;
  if (mode === 'all') return true;
  return w.level === 'red' && w.status === 'actual' && w.audience.includes('resident');
}

/** A CAP `sender`: no spaces, commas, "<" or "&" (CAP 1.2). */
const CAP_SENDER = /^[^\s,<&]+$/;

/**
 * CAP_TRUSTED_SENDERS: the CAP `sender` values of the upstream authorities whose alerts are
 * released already when they arrive (e.g. the provincial meteorological observatory, the
 * provincial natural-resources department), comma-separated. Default: none. A bad entry is
 * refused with a message naming the variable.
 */
export function capTrustedSenders(value = process.env.CAP_TRUSTED_SENDERS): Set<string> {
  const entries = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = entries.find((s) => !CAP_SENDER.test(s));
  if (bad !== undefined)
    throw new Error(`CAP_TRUSTED_SENDERS: "${bad}" is not a CAP sender (no spaces, "<" or "&")`);
  return new Set(entries);
}
