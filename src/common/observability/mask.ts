/**
 * A phone number in free text: 8+ digits (spaces and dashes allowed inside), not part of a
 * longer word, so that UUIDs, ISO times and ids are left alone.
 */
const PHONE = /(?<![\w-])\+?\d[\d -]{6,}\d(?![\w-])/g;

/** Masks phone numbers in free text (provider error messages) before it reaches a log: +86138****0004. */
export function maskPhones(text: string): string {
  return text.replace(PHONE, (m) => {
    const digits = m.replace(/[^\d+]/g, '');
    return digits.length < 8 ? m : `${digits.slice(0, 6)}****${digits.slice(-4)}`;
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
