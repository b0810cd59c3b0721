/**
 * A phone number in free text, not part of a longer word: an international number (`+` and 8+
 * digits, spaces and dashes allowed), a Chinese mobile number (11 digits from 13… to 19…) or a
 * landline with its area code (0…). Administrative division and grid codes (6 to 15 digits,
 * never starting with 0, never 11 digits from 13…), UUIDs, ISO times and ids are left alone.
 */
const PHONE = /(?<![\w-])(?:\+\d[\d -]{6,}\d|1[3-9]\d{9}|0\d{2,3}[ -]?\d{3,4}[ -]?\d{4})(?![\w-])/g;

/** Masks phone numbers in free text (provider error messages) before it reaches a log: +86138****0004. */
export function maskPhones(text: string): string {
  return text.replace(PHONE, (m) => {
    const digits = m.replace(/[^\d+]/g, '');
    // Four digits before the last four are hidden, so at most the prefix (country, carrier or
    // area code) and the last four show: +86138****0004, 138****0004, 028****4321.
    return digits.length < 8
      ? m
      : `${digits.slice(0, Math.max(3, digits.length - 8))}****${digits.slice(-4)}`;
  });
}

/** Keys whose values never go into a log: SQL parameters hold phone numbers and addresses. */
const DROPPED_KEYS = new Set(['parameters']);

/**
 * A log record with every string's phone numbers masked and SQL parameters dropped, however deep
 * (errors included: their message and stack are kept). Applied to every log line.
 */
export function maskLogRecord(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPhones(value);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (Array.isArray(value)) return value.map((v) => maskLogRecord(v, depth + 1));
  // Plain data and errors only: a request, response or socket is left to its own serializer
  // (walking one on every request log line would be slow and pointless).
  const proto = Object.getPrototypeOf(value);
  if (!(value instanceof Error) && proto !== Object.prototype && proto !== null) return value;
  // An error stays an instance of its class (the log's err serializer names its type from it).
  const out: Record<string, unknown> =
    value instanceof Error ? Object.create(Object.getPrototypeOf(value)) : {};
  if (value instanceof Error) {
    const hidden = (v: string) => ({ value: v, enumerable: false, writable: true });
    Object.defineProperty(out, 'message', hidden(maskPhones(value.message)));
    if (value.stack) Object.defineProperty(out, 'stack', hidden(maskPhones(value.stack)));
  }
  for (const [k, v] of Object.entries(value)) {
    if (DROPPED_KEYS.has(k)) continue;
    out[k] = maskLogRecord(v, depth + 1);
  }
  return out;
}
