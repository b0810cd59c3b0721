/**
 * SMS length accounting.
 *
 * Encoding is decided per message, as a handset or SMSC does:
 * - **GSM-7** when every character is in the GSM 03.38 default alphabet or its extension table
 *   (pure English / ASCII text, except a few characters such as the backtick): one message holds
 *   160 septets, a concatenated message 153 septets per segment; extension-table characters
 *   (`^ { } \ [ ] ~ | €` and form feed) take two septets and are never split across segments.
 * - **UCS-2** otherwise (any Chinese character, and notably the 【】 brackets of a carrier
 *   signature): one message holds 70 characters, signature included; longer messages are split
 *   into 67-character segments. So an English text that carries a 【signature】 is UCS-2 and
 *   limited to 70/67 just like Chinese text.
 *
 * Units for UCS-2 text: by default every Unicode code point counts as one character, which is
 * how Chinese SMS providers count "字" for all common text (every Chinese character, letter,
 * digit and punctuation mark is one). Characters outside the Basic Multilingual Plane (emoji,
 * rare CJK Extension-B characters that appear in some village names, e.g. 𠮷) travel as a UTF-16
 * surrogate pair and occupy two of the 70/67 slots on the air; pass `{ unit: 'utf16' }` to count
 * that worst case. The template fitter (`fitToSegment`) always uses `utf16`, so a message it
 * declares one segment is one segment whichever way the provider counts.
 *
 * Providers that bill every message as UCS-2 (some domestic gateways do, even for pure ASCII)
 * can be modelled with `{ allowGsm7: false }`.
 */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsCountOptions {
  /** How to count UCS-2 characters: Unicode code points (default) or UTF-16 code units. */
  unit?: 'codePoint' | 'utf16';
  /** Use GSM-7 (160/153) when the text allows it. Default true. */
  allowGsm7?: boolean;
}

export const SMS_LIMITS = {
  'UCS-2': { single: 70, segment: 67 },
  'GSM-7': { single: 160, segment: 153 },
} as const satisfies Record<SmsEncoding, { single: number; segment: number }>;

export interface SmsAnalysis {
  encoding: SmsEncoding;
  /** Characters (UCS-2) or septets (GSM-7). */
  units: number;
  segments: number;
  /** Units a single (non-concatenated) message may hold for this encoding. */
  singleLimit: number;
  /** Units per segment of a concatenated message. */
  segmentLimit: number;
  /** Units still free in the last segment (or in the single message). */
  remaining: number;
}

// GSM 03.38 default alphabet (ESC excluded) and extension table.
const GSM7_BASIC = new Set(
  Array.from(
    '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
      '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
  ),
);
const GSM7_EXTENSION = new Set(Array.from('\f^{}\\[~]|€'));

export function isGsm7(text: string): boolean {
  for (const ch of text) {
    if (!GSM7_BASIC.has(ch) && !GSM7_EXTENSION.has(ch)) return false;
  }
  return true;
}

/** Per-character weights in the units of the chosen encoding. */
function weights(text: string, encoding: SmsEncoding, unit: 'codePoint' | 'utf16'): number[] {
  const out: number[] = [];
  for (const ch of text) {
    if (encoding === 'GSM-7') out.push(GSM7_EXTENSION.has(ch) ? 2 : 1);
    else out.push(unit === 'utf16' ? ch.length : 1);
  }
  return out;
}

export function analyzeSms(text: string, options: SmsCountOptions = {}): SmsAnalysis {
  const unit = options.unit ?? 'codePoint';
  const encoding: SmsEncoding = options.allowGsm7 !== false && isGsm7(text) ? 'GSM-7' : 'UCS-2';
  const { single, segment } = SMS_LIMITS[encoding];
  const w = weights(text, encoding, unit);
  const units = w.reduce((a, b) => a + b, 0);
  if (units === 0) {
    return {
      encoding,
      units,
      segments: 0,
      singleLimit: single,
      segmentLimit: segment,
      remaining: single,
    };
  }
  if (units <= single) {
    return {
      encoding,
      units,
      segments: 1,
      singleLimit: single,
      segmentLimit: segment,
      remaining: single - units,
    };
  }
  // Concatenated: fill segments greedily; a character (surrogate pair, escape sequence) is never
  // split across two segments.
  let segments = 1;
  let used = 0;
  for (const n of w) {
    if (used + n > segment) {
      segments++;
      used = 0;
    }
    used += n;
  }
  return {
    encoding,
    units,
    segments,
    singleLimit: single,
    segmentLimit: segment,
    remaining: segment - used,
  };
}

/** Number of SMS messages (segments) the text is sent as; 0 for the empty string. */
export function countSmsSegments(text: string, options?: SmsCountOptions): number {
  return analyzeSms(text, options).segments;
}

/* ------------------------------------------------------------------------------------------ */
/* Fitting                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/**
 * One span of a message whose wording may be richer or poorer. `text` is the minimal wording,
 * always kept ('' when the part may be dropped entirely). `richer` lists fuller wordings; each
 * is an upgrade tried in ascending `priority` (1 = most important) across all parts, and applied
 * when the message still fits. A part never goes back from a richer variant to a poorer one, so
 * list variants from poorest to richest and give richer variants a larger priority number.
 */
export interface SmsPart {
  text: string;
  richer?: ReadonlyArray<{ text: string; priority: number }>;
  /**
   * Last resort, only when the minimal wording does not fit (e.g. an unusually long signature):
   * poorer wordings, applied in descending `priority` (highest is given up first) until the
   * message fits. Parts without `poorer` (signature, level) are never shortened.
   */
  poorer?: ReadonlyArray<{ text: string; priority: number }>;
  /** For diagnostics only. */
  name?: string;
}

export interface FitOptions extends Omit<SmsCountOptions, 'unit'> {
  /** Maximum segments; default 1. */
  maxSegments?: number;
}

export interface FitResult {
  text: string;
  segments: number;
  encoding: SmsEncoding;
  /** False when even the minimal wording is longer than allowed. */
  fits: boolean;
  /**
   * For each part: -1 for the minimal wording, i >= 0 for `richer[i]`, -2 - i for `poorer[i]`.
   */
  chosen: number[];
}

/** Signature at the start of a message: 【…】 (carrier-registered, never cut). */
const SIGNATURE_RE = /^【[^】]*】/;

function measure(text: string, options: FitOptions): { segments: number; encoding: SmsEncoding } {
  const a = analyzeSms(text, { unit: 'utf16', allowGsm7: options.allowGsm7 });
  return { segments: a.segments, encoding: a.encoding };
}

function fitParts(parts: ReadonlyArray<string | SmsPart>, options: FitOptions): FitResult {
  const max = options.maxSegments ?? 1;
  const norm: SmsPart[] = parts.map((p) => (typeof p === 'string' ? { text: p } : p));
  const chosen = norm.map(() => -1);
  const textOf = (p: SmsPart, c: number): string =>
    c === -1 ? p.text : c >= 0 ? p.richer![c]!.text : p.poorer![-2 - c]!.text;
  const render = (choice: number[]): string => norm.map((p, i) => textOf(p, choice[i]!)).join('');

  const base = render(chosen);
  if (measure(base, options).segments > max) {
    // Give up poorer wordings, least important first, until it fits.
    const downgrades: Array<{ part: number; variant: number; priority: number }> = [];
    norm.forEach((p, part) =>
      p.poorer?.forEach((r, variant) => downgrades.push({ part, variant, priority: r.priority })),
    );
    downgrades.sort((a, b) => b.priority - a.priority || b.part - a.part || a.variant - b.variant);
    for (const d of downgrades) {
      const current = chosen[d.part]!;
      if (current <= -2 && -2 - current >= d.variant) continue; // already as poor or poorer
      chosen[d.part] = -2 - d.variant;
      if (measure(render(chosen), options).segments <= max) break;
    }
    // Give back what turned out not to be needed: a wording given up early that did not make
    // room by itself (the message fitted only once a later one went too) is restored when the
    // message still fits, most important first.
    const given = norm
      .map((p, part) => ({ part, priority: p.poorer?.[0]?.priority ?? 0 }))
      .filter(({ part }) => chosen[part]! <= -2)
      .sort((a, b) => a.priority - b.priority || a.part - b.part);
    for (const { part } of given) {
      const trial = chosen.slice();
      trial[part] = -1;
      if (measure(render(trial), options).segments <= max) chosen[part] = -1;
    }
    const text = render(chosen);
    const m = measure(text, options);
    return { text, ...m, fits: m.segments <= max, chosen };
  }
  const upgrades: Array<{ part: number; variant: number; priority: number }> = [];
  norm.forEach((p, part) =>
    p.richer?.forEach((r, variant) => upgrades.push({ part, variant, priority: r.priority })),
  );
  upgrades.sort((a, b) => a.priority - b.priority || a.part - b.part || a.variant - b.variant);
  for (const u of upgrades) {
    if (u.variant <= chosen[u.part]!) continue;
    const trial = chosen.slice();
    trial[u.part] = u.variant;
    if (measure(render(trial), options).segments <= max) chosen[u.part] = u.variant;
  }
  const text = render(chosen);
  return { text, ...measure(text, options), fits: true, chosen };
}

function truncateText(text: string, options: FitOptions): FitResult {
  const max = options.maxSegments ?? 1;
  const whole = measure(text, options);
  if (whole.segments <= max) return { text, ...whole, fits: true, chosen: [] };
  const signature = SIGNATURE_RE.exec(text)?.[0] ?? '';
  const body = Array.from(text.slice(signature.length));
  const ellipsis = isGsm7(text) && options.allowGsm7 !== false ? '...' : '…';
  // Binary search on the number of body code points kept.
  let lo = 0;
  let hi = body.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const candidate = signature + body.slice(0, mid).join('') + ellipsis;
    if (measure(candidate, options).segments <= max) lo = mid;
    else hi = mid - 1;
  }
  const out = signature + body.slice(0, lo).join('') + ellipsis;
  const m = measure(out, options);
  return { text: out, ...m, fits: m.segments <= max, chosen: [] };
}

/**
 * Makes a message fit `maxSegments` (default one) segment.
 *
 * - Given parts, chooses for each part the richest wording that fits, in priority order (see
 *   `SmsPart`). If even the minimal wordings do not fit, the parts' `poorer` wordings are used
 *   as a last resort; if that is still too long the result has `fits: false` (parts without
 *   `poorer`, such as the signature and the level, are never cut).
 * - Given a plain string, cuts the end and appends an ellipsis, never cutting a leading
 *   【signature】.
 *
 * Lengths are measured in UTF-16 units (see the module comment), so the result fits whatever
 * counting the provider applies.
 */
export function fitToSegment(
  input: string | ReadonlyArray<string | SmsPart>,
  options: FitOptions = {},
): FitResult {
  return typeof input === 'string' ? truncateText(input, options) : fitParts(input, options);
}
