/**
 * Identifier of a warning in the national release system (国家突发事件预警信息发布系统):
 *
 *     ZZZZZZ DDD UUU XX _ YYYYMMDDhhmmss _ N        (31 characters, no spaces)
 *     510000 416 000 00 _ 20240710203000 _ 1
 *
 * - `ZZZZZZ`  6-digit GB/T 2260 administrative division code of the issuing unit
 *             (`100000` is accepted for national-level issuers);
 * - `DDD`     3-digit agency code of the issuing unit;
 * - `UUU`     always `000`;
 * - `XX`      always `00`;
 * - `YYYYMMDDhhmmss` time of issue in Beijing time (UTC+8), to the second;
 * - `N`       one sequence digit (0-9) distinguishing warnings issued in the same second.
 *
 * Sub-second precision of `sentAt` is dropped (floored to the second) when formatting.
 */

export const NATIONAL_ID_LENGTH = 31;
export const NATIONAL_ID_PATTERN = /^\d{6}\d{3}000\d{2}_\d{14}_\d$/;
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** GB/T 2260 province-level prefixes (incl. 71 Taiwan, 81 Hong Kong, 82 Macao). */
// prettier-ignore
const PROVINCE_PREFIXES = new Set([
  '11', '12', '13', '14', '15',
  '21', '22', '23',
  '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46',
  '50', '51', '52', '53', '54',
  '61', '62', '63', '64', '65',
  '71', '81', '82',
]);

/** Which part of the identifier is wrong. */
export type NationalIdPart =
  | 'length'
  | 'areaCode'
  | 'agencyCode'
  | 'unitCode'
  | 'reservedCode'
  | 'separator'
  | 'sentAt'
  | 'sequence';

export interface NationalIdIssue {
  part: NationalIdPart;
  message: string;
}

export class NationalIdError extends Error {
  override readonly name = 'NationalIdError';
  constructor(
    readonly issues: NationalIdIssue[],
    readonly input?: string,
  ) {
    super(
      `Invalid national warning id${input === undefined ? '' : ` "${input}"`}: ` +
        issues.map((i) => `${i.part}: ${i.message}`).join('; '),
    );
  }

  /** Names of the wrong parts, e.g. ['areaCode', 'sentAt']. */
  get parts(): NationalIdPart[] {
    return this.issues.map((i) => i.part);
  }
}

export interface NationalIdInput {
  /** 6-digit GB/T 2260 code of the issuing unit's division, e.g. '513221' (汶川县). */
  areaCode: string;
  /** 3-digit agency code, e.g. '416'. */
  agencyCode: string;
  /** Time of issue; rendered in Beijing time. */
  sentAt: Date;
  /** 0-9. */
  sequence: number;
}

export interface ParsedNationalId extends NationalIdInput {
  /** The identifier as given. */
  id: string;
  /** `YYYYMMDDhhmmss`, Beijing time, exactly as in the identifier. */
  timestamp: string;
}

function checkAreaCode(areaCode: unknown, issues: NationalIdIssue[]): void {
  if (typeof areaCode !== 'string' || !/^\d{6}$/.test(areaCode)) {
    issues.push({
      part: 'areaCode',
      message: `must be 6 digits (GB/T 2260), got "${String(areaCode)}"`,
    });
  } else if (areaCode !== '100000' && !PROVINCE_PREFIXES.has(areaCode.slice(0, 2))) {
    issues.push({
      part: 'areaCode',
      message: `"${areaCode}" does not start with a GB/T 2260 province code`,
    });
  }
}

function checkAgencyCode(agencyCode: unknown, issues: NationalIdIssue[]): void {
  if (typeof agencyCode !== 'string' || !/^\d{3}$/.test(agencyCode)) {
    issues.push({ part: 'agencyCode', message: `must be 3 digits, got "${String(agencyCode)}"` });
  }
}

function checkSequence(sequence: unknown, issues: NationalIdIssue[]): void {
  if (typeof sequence !== 'number' || !Number.isInteger(sequence) || sequence < 0 || sequence > 9) {
    issues.push({ part: 'sequence', message: `must be one digit 0-9, got ${String(sequence)}` });
  }
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `YYYYMMDDhhmmss` of a date in Beijing time (UTC+8). */
export function toBeijingTimestamp(date: Date): string {
  const t = new Date(Math.floor(date.getTime() / 1000) * 1000 + BEIJING_OFFSET_MS);
  return (
    pad(t.getUTCFullYear(), 4) +
    pad(t.getUTCMonth() + 1) +
    pad(t.getUTCDate()) +
    pad(t.getUTCHours()) +
    pad(t.getUTCMinutes()) +
    pad(t.getUTCSeconds())
  );
}

/** Parses `YYYYMMDDhhmmss` (Beijing time) into an instant; null when not a real calendar time. */
export function fromBeijingTimestamp(timestamp: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(timestamp);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(utc);
  // Rejects e.g. 20240230 (Date.UTC would roll it over into March).
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) {
    return null;
  }
  return new Date(utc - BEIJING_OFFSET_MS);
}

export function formatNationalId(input: NationalIdInput): string {
  const issues: NationalIdIssue[] = [];
  checkAreaCode(input.areaCode, issues);
  checkAgencyCode(input.agencyCode, issues);
  checkSequence(input.sequence, issues);
  let timestamp = '';
  if (!(input.sentAt instanceof Date) || Number.isNaN(input.sentAt.getTime())) {
    issues.push({ part: 'sentAt', message: 'must be a valid Date' });
  } else {
    timestamp = toBeijingTimestamp(input.sentAt);
    if (!/^\d{14}$/.test(timestamp)) {
      issues.push({ part: 'sentAt', message: `year out of range (${timestamp})` });
    }
  }
  if (issues.length) throw new NationalIdError(issues);
  return `${input.areaCode}${input.agencyCode}00000_${timestamp}_${input.sequence}`;
}

/**
 * Parses and validates an identifier; throws `NationalIdError` listing every wrong part
 * (`issues[].part`), e.g. `areaCode: does not start with a GB/T 2260 province code`.
 */
export function parseNationalId(s: string): ParsedNationalId {
  if (typeof s !== 'string') {
    throw new NationalIdError([{ part: 'length', message: 'must be a string' }]);
  }
  if ([...s].length !== NATIONAL_ID_LENGTH) {
    throw new NationalIdError(
      [
        {
          part: 'length',
          message: `must be ${NATIONAL_ID_LENGTH} characters, got ${[...s].length}`,
        },
      ],
      s,
    );
  }
  const issues: NationalIdIssue[] = [];
  const areaCode = s.slice(0, 6);
  const agencyCode = s.slice(6, 9);
  const unitCode = s.slice(9, 12);
  const reserved = s.slice(12, 14);
  const timestamp = s.slice(15, 29);
  const seq = s.slice(30, 31);

  checkAreaCode(areaCode, issues);
  checkAgencyCode(agencyCode, issues);
  if (unitCode !== '000') {
    issues.push({ part: 'unitCode', message: `characters 10-12 must be "000", got "${unitCode}"` });
  }
  if (reserved !== '00') {
    issues.push({
      part: 'reservedCode',
      message: `characters 13-14 must be "00", got "${reserved}"`,
    });
  }
  if (s[14] !== '_' || s[29] !== '_') {
    issues.push({
      part: 'separator',
      message: `characters 15 and 30 must be "_", got "${s[14]}" and "${s[29]}"`,
    });
  }
  const sentAt = fromBeijingTimestamp(timestamp);
  if (!sentAt) {
    issues.push({
      part: 'sentAt',
      message: `"${timestamp}" is not a valid Beijing time YYYYMMDDhhmmss`,
    });
  }
  if (!/^\d$/.test(seq)) {
    issues.push({ part: 'sequence', message: `must be one digit, got "${seq}"` });
  }
  if (issues.length || !sentAt) throw new NationalIdError(issues, s);
  return { id: s, areaCode, agencyCode, sentAt, timestamp, sequence: Number(seq) };
}

export function isNationalId(s: unknown): s is string {
  if (typeof s !== 'string' || !NATIONAL_ID_PATTERN.test(s)) return false;
  try {
    parseNationalId(s);
    return true;
  } catch {
    return false;
  }
}
