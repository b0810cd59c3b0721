/**
 * Shared wording for all channels: Beijing-time formatting, place lists, level and hazard names,
 * and the "facts" of a warning every template draws from.
 */
import {
  HAZARD_NAMES_EN,
  HAZARD_NAMES_ZH,
  LEVEL_COLOURS_ZH,
  LEVEL_NAMES_EN,
  LEVEL_NUMBERS,
  LEVEL_RANKS_ZH,
  WarningContent,
  WarningKind,
  WarningLevel,
} from '../common/domain/warning.types';
import {
  AFTER_RELEASE,
  ALERT_ONLY_INSTRUCTION,
  LEVEL_POLICY,
  StatusMark,
  statusMark,
} from './policy';
import type { SmsPart } from './sms-segments';
import { DEFAULT_LOCALE, Locale, TemplateContext } from './types';

/* ------------------------------------------------------------------------------------------ */
/* Beijing time                                                                                */
/* ------------------------------------------------------------------------------------------ */

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
const MONTHS_EN = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
];

export interface BeijingParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

export function beijingParts(date: Date): BeijingParts {
  const t = new Date(date.getTime() + BEIJING_OFFSET_MS);
  return {
    year: t.getUTCFullYear(),
    month: t.getUTCMonth() + 1,
    day: t.getUTCDate(),
    hour: t.getUTCHours(),
    minute: t.getUTCMinutes(),
  };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
const zhClock = (p: BeijingParts): string => `${p.hour}时${p.minute ? `${p.minute}分` : ''}`;
const enClock = (p: BeijingParts): string => `${pad2(p.hour)}:${pad2(p.minute)}`;

/** 2024年7月10日20时30分 (minutes omitted on the hour); `year: false` drops the year. */
export function zhDateTime(date: Date, opts: { year?: boolean } = {}): string {
  const p = beijingParts(date);
  return `${opts.year === false ? '' : `${p.year}年`}${p.month}月${p.day}日${zhClock(p)}`;
}

/**
 * Shortest unambiguous form relative to `ref`: 22时 (same day), 11日2时 (same month),
 * 8月1日2时, or with the year when the year differs.
 */
export function zhShortTime(date: Date, ref: Date): string {
  const p = beijingParts(date);
  const r = beijingParts(ref);
  if (p.year !== r.year) return zhDateTime(date);
  if (p.month !== r.month) return `${p.month}月${p.day}日${zhClock(p)}`;
  if (p.day !== r.day) return `${p.day}日${zhClock(p)}`;
  return zhClock(p);
}

/** 7月10日20时至11日20时. */
export function zhRange(from: Date, to: Date, opts: { year?: boolean } = {}): string {
  return `${zhDateTime(from, { year: opts.year ?? false })}至${zhShortTime(to, from)}`;
}

/** 20:30 10 Jul 2024 (year omitted with `year: false`). */
export function enDateTime(date: Date, opts: { year?: boolean } = {}): string {
  const p = beijingParts(date);
  return `${enClock(p)} ${p.day} ${MONTHS_EN[p.month - 1]}${opts.year === false ? '' : ` ${p.year}`}`;
}

export function enShortTime(date: Date, ref: Date): string {
  const p = beijingParts(date);
  const r = beijingParts(ref);
  if (p.year === r.year && p.month === r.month && p.day === r.day) return enClock(p);
  return enDateTime(date, { year: p.year !== r.year });
}

export function enRange(from: Date, to: Date): string {
  return `${enDateTime(from, { year: false })} to ${enShortTime(to, from)}`;
}

/* ------------------------------------------------------------------------------------------ */
/* Text utilities                                                                              */
/* ------------------------------------------------------------------------------------------ */

export const codePoints = (s: string): number => Array.from(s).length;

/** Cuts to at most `max` code points, appending `ellipsis` when cut. */
export function cut(s: string, max: number, ellipsis = '…'): string {
  const cps = Array.from(s);
  if (cps.length <= max) return s;
  return cps.slice(0, Math.max(0, max - codePoints(ellipsis))).join('') + ellipsis;
}

/**
 * Leading whole sentences within `max` code points; if the first sentence alone is longer, it is
 * cut at the last clause mark (，,；;) inside the limit, or hard-cut with an ellipsis.
 */
export function leadSentences(text: string, max: number): string {
  const t = text.trim();
  if (codePoints(t) <= max) return t;
  const sentences = t.match(/[^。！？!?.]+[。！？!?.]*/gu) ?? [t];
  let out = '';
  for (const s of sentences) {
    if (codePoints(out + s) > max) break;
    out += s;
  }
  if (out) return out.trim();
  const head = Array.from(t)
    .slice(0, max - 1)
    .join('');
  const clause = Math.max(...['，', ',', '；', ';'].map((m) => head.lastIndexOf(m)));
  return clause > max / 3 ? `${head.slice(0, clause)}…` : `${head}…`;
}

/**
 * The English indefinite article for a phrase, by its first sound: an Orange warning, a Red
 * warning, an SMS, a unit. `capital` for the start of a sentence (A / An).
 */
export function article(phrase: string, capital = false): string {
  const word = phrase.trim().split(/[\s/-]/)[0] ?? '';
  const acronym = word.length > 1 && word === word.toUpperCase() && /^[A-Z]+$/.test(word);
  const an = acronym
    ? /^[AEFHILMNORSX]/.test(word)
    : /^(hour|honest|honou?r)/i.test(word) ||
      (/^[aeiou]/i.test(word) && !/^(u[bcfhjkqrstn][aeiou]|uni|use|eu|one\b)/i.test(word));
  const a = an ? 'an' : 'a';
  return `${capital ? a[0]!.toUpperCase() + a.slice(1) : a} ${phrase}`;
}

const HAN = /\p{Script=Han}/u;

/**
 * A free text of the warning (what to watch, measures, extent, a cancel's reason: written by the
 * issuer or the duty officer) in a text of `locale`. A warning carries these in one language
 * only; an English text never passes one written in Chinese off as its own wording: it quotes it
 * and says so, `Measures: “请受威胁群众立即…” (in Chinese)` (`label` first, when given). Any
 * other text is returned as it is.
 */
export function freeText(text: string, locale: Locale, label?: string): string {
  const t = text.trim();
  if (locale !== 'en' || !HAN.test(t)) return t;
  return `${label ? `${label}: ` : ''}“${t}” (in Chinese)`;
}

/** Ends a sentence with 。 (zh) or . (en) unless it already ends with punctuation. */
export function sentence(s: string, locale: Locale): string {
  const t = s.trim();
  if (!t) return '';
  if (/[。！？!?.；;]$/u.test(t)) return t;
  return t + (locale === 'en' ? '.' : '。');
}

/* ------------------------------------------------------------------------------------------ */
/* Places                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/** Characters that end an administrative-division name (省 市 州 县 区 旗 镇 乡 街道 村 …). */
const DIVISION_END = /[省市州盟县区旗镇乡道村]$/u;

/** Longest common prefix of all names that ends at a division boundary, e.g. 汶川县映秀镇. */
export function commonDivisionPrefix(names: readonly string[]): string {
  if (names.length < 2) return '';
  let prefix = Array.from(names[0]!);
  for (const n of names.slice(1)) {
    const cps = Array.from(n);
    let i = 0;
    while (i < prefix.length && i < cps.length && prefix[i] === cps[i]) i++;
    prefix = prefix.slice(0, i);
  }
  while (prefix.length && !DIVISION_END.test(prefix.join(''))) prefix.pop();
  const p = prefix.join('');
  // Only a real prefix: every name must continue after it.
  return names.every((n) => n.length > p.length) ? p : '';
}

/** Joins names; in Chinese a shared division prefix is written once: 映秀镇渔子溪村、中滩堡村. */
export function joinPlaces(names: readonly string[], locale: Locale): string {
  if (locale === 'en') return names.join(', ');
  const prefix = commonDivisionPrefix(names);
  return prefix ? prefix + names.map((n) => n.slice(prefix.length)).join('、') : names.join('、');
}

/** Up to `max` names, then 等N处 / "and N more". */
export function listPlaces(names: readonly string[], locale: Locale, max = 20): string {
  if (names.length <= max) return joinPlaces(names, locale);
  const shown = joinPlaces(names.slice(0, max), locale);
  return locale === 'en'
    ? `${shown} and ${names.length - max} more`
    : `${shown}等${names.length}处`;
}

/** Last division of a prefix: 阿坝藏族羌族自治州汶川县映秀镇 → 映秀镇. */
function lastDivision(prefix: string): string {
  const cps = Array.from(prefix);
  for (let i = cps.length - 2; i >= 0; i--) {
    if (DIVISION_END.test(cps[i]!)) return cps.slice(i + 1).join('');
  }
  return prefix;
}

/**
 * The place's own name, without the divisions above it: 汶川县映秀镇渔子溪村 → 渔子溪村,
 * 汶川县映秀镇 → 映秀镇. A name that does not end with a division (a hazard point such as
 * 渔子溪村后山滑坡) is kept whole.
 */
export function ownPlaceName(name: string): string {
  return DIVISION_END.test(name) ? lastDivision(name) : name;
}

/**
 * Joins the parts of a place (division name, hazard point, location in words) without writing
 * twice what a part starts with and the text before it already ends with: 汶川县映秀镇渔子溪村 +
 * 渔子溪村三组后山 → 汶川县映秀镇渔子溪村三组后山. Only whole divisions overlap (渔子溪村,
 * 映秀镇渔子溪村): 渔子溪村 + 村口 stays 渔子溪村村口. Empty parts are skipped.
 */
export function joinPlaceName(...parts: ReadonlyArray<string | null | undefined>): string {
  let out: string[] = [];
  for (const raw of parts) {
    const part = Array.from((raw ?? '').trim());
    if (!part.length) continue;
    let k = Math.min(out.length, part.length);
    for (; k > 0; k--) {
      const head = part.slice(0, k);
      const starts = k === out.length || DIVISION_END.test(out[out.length - k - 1]!);
      if (
        starts &&
        DIVISION_END.test(head[k - 1]!) &&
        out.slice(out.length - k).join('') === head.join('')
      )
        break;
    }
    out = [...out, ...part.slice(k)];
  }
  return out.join('');
}

const MIN_PLACE_LEN = 10;
const SHORT_PLACE_LEN = 16;

/**
 * The place list as an SMS part.
 *
 * Minimal wording (always kept), followed by 等 / "etc" when there are more places:
 * - the first name if it has at most 10 characters;
 * - else, when the names share a division prefix, its last division plus the rest of the first
 *   name if that is short (映秀镇渔子溪村), or the division alone (映秀镇等地);
 * - else the first name cut to 10 characters.
 * Upgrades: the first name in full (priority `first` when it has at most 16 characters,
 * `more` otherwise), then 2, 3, … names, the full list last (priorities `more`, `more`+1,
 * `more`+2).
 */
export function placePart(
  names: readonly string[],
  locale: Locale,
  priorities: { first: number; more: number },
): SmsPart {
  if (!names.length) return { text: '', name: 'places' };
  const etc = locale === 'en' ? ' etc' : '等';
  const n = names.length;
  const more = n > 1 ? etc : '';
  const variant = (k: number): string => joinPlaces(names.slice(0, k), locale) + (k < n ? etc : '');
  const first = variant(1);
  const firstName = names[0]!;
  let minimal = first;
  if (codePoints(firstName) > MIN_PLACE_LEN) {
    const shared = commonDivisionPrefix(names);
    const town = shared ? lastDivision(shared) : '';
    const rest = firstName.slice(shared.length);
    if (town && codePoints(town + rest) <= MIN_PLACE_LEN + 2) minimal = town + rest + more;
    else if (town && codePoints(town) <= MIN_PLACE_LEN)
      minimal = town + (locale === 'en' ? ' area' : '等地');
    else minimal = cut(firstName, MIN_PLACE_LEN) + more;
  }
  const richer: Array<{ text: string; priority: number }> = [];
  if (minimal !== first) {
    const long = codePoints(firstName) > SHORT_PLACE_LEN;
    richer.push({ text: first, priority: long ? priorities.more : priorities.first });
  }
  for (let k = 2; k <= n; k++) {
    richer.push({ text: variant(k), priority: priorities.more + Math.min(k - 2, 2) });
  }
  return { text: minimal, richer, name: 'places' };
}

/* ------------------------------------------------------------------------------------------ */
/* Warning facts                                                                               */
/* ------------------------------------------------------------------------------------------ */

const COLOUR_EN: Record<WarningLevel, string> = {
  red: 'Red',
  orange: 'Orange',
  yellow: 'Yellow',
  blue: 'Blue',
};
const RANK_EN: Record<WarningLevel, string> = {
  red: 'Level I',
  orange: 'Level II',
  yellow: 'Level III',
  blue: 'Level IV',
};
/** Emoji used in robot markdown headings. */
export const LEVEL_EMOJI: Record<WarningLevel, string> = {
  red: '🔴',
  orange: '🟠',
  yellow: '🟡',
  blue: '🔵',
};
/** CSS colours for e-mail. */
export const LEVEL_CSS: Record<WarningLevel, string> = {
  red: '#d0021b',
  orange: '#f5a623',
  yellow: '#f8e71c',
  blue: '#1e6fd9',
};

export type LevelChange = 'raised' | 'lowered' | 'same';

export interface WarningFacts {
  locale: Locale;
  w: WarningContent;
  imminent: boolean;
  hazard: string;
  colour: string;
  rank: string;
  /** 红色（一级） / Red (Level I). */
  level: string;
  /** 滑坡临灾预警 / 地质灾害气象风险预警 (no level). */
  category: string;
  /** 滑坡红色临灾预警 / 地质灾害气象风险红色预警 / Red imminent landslide warning. */
  title: string;
  issuer: string;
  signature: string;
  /** Issue time, full. */
  issuedAt: string;
  /** Validity window, effective to expires. */
  window: string;
  /** Start of the warning (legally required 'start time'): onset if given, else effective. */
  startsAt: string;
  /** Expected time of the event (imminent warnings), full. */
  onset?: string;
  /** Expected time, shortest form relative to the issue time (for SMS). */
  onsetShort?: string;
  /** Window in short form (for SMS). */
  windowShort: string;
  places: string[];
  /** Full place list (capped at 20 names). */
  placeList: string;
  hazardPoints: string[];
  riskZones: string[];
  /** 风险很高 / very high. */
  risk: string;
  /** 威胁120户356人 / 356 people in 120 households threatened. */
  impact?: string;
  /** 120户356人 / 356 people in 120 households. */
  impactCount?: string;
  extent?: string;
  shelter?: string;
  /** What to watch; for a cancel: the cancel's own reason. */
  description: string;
  /**
   * Measures; for a cancel: the cancel's own follow-up measures, never an alert's instruction
   * (falls back to AFTER_RELEASE).
   */
  instruction: string;
  /** For updates: what changed (see `WarningChange`). */
  change?: WarningChange;
  /** Drill / test mark; undefined for an actual warning. */
  mark?: StatusMark;
  /** The mark's tag ('【演练】', '[DRILL]') or ''. */
  tag: string;
  /**
   * A release after an update: the recipient's own areas that are no longer within the warning,
   * and the level they had (see TemplateContext.dropped).
   */
  dropped?: {
    places: string[];
    placeList: string;
    level: WarningLevel;
    /** 地质灾害气象风险橙色预警 / Orange geological-hazard meteorological risk warning. */
    title: string;
  };
  confirmKey: string;
  helpKey: string;
  recipientName?: string;
  recipientRole?: string;
  confirmUrl?: string;
}

export function localeOf(ctx: TemplateContext): Locale {
  return ctx.locale ?? DEFAULT_LOCALE;
}

const uniqueNames = (raw: readonly string[]): string[] => [
  ...new Set(raw.map((s) => s.trim()).filter(Boolean)),
];

/**
 * The places a message names: `ctx.places`, else the warning's areas; when neither names any
 * place (an imminent warning targeted at hazard points only), its hazard points and risk zones,
 * so a text never has an empty place.
 */
export function placeNamesOf(ctx: TemplateContext): string[] {
  const names = uniqueNames(ctx.places ?? ctx.warning.areas.map((a) => a.name));
  if (names.length) return names;
  return uniqueNames([...ctx.warning.hazardPoints, ...ctx.warning.riskZones].map((p) => p.name));
}

/** Splits text into sentences (keeping their end marks); lines count as sentences. */
export function sentencesOf(text: string): string[] {
  return text
    .split(/\n+/)
    .flatMap((line) => line.match(/[^。！？!?]+[。！？!?]*/gu) ?? [])
    .map((s) => s.trim())
    .filter(Boolean);
}

const bare = (s: string): string => s.replace(/[。！？!?.；;，,\s]+$/u, '');

/**
 * The reason and the follow-up of a cancel, from the cancel's own texts:
 * - reason = `description`. A description whose last line repeats the instruction (a cancel
 *   built as "alert description + newline + reason", with the reason also as instruction) keeps
 *   only that line: the alert's description is not the cancel's reason. Lines become sentences.
 * - follow-up = the instruction's sentences that neither repeat the reason nor belong to an
 *   alert (立即撤离, 严禁返回 …), else the policy's AFTER_RELEASE for the kind.
 */
export function cancelTexts(
  w: Pick<WarningContent, 'description' | 'instruction'>,
  kind: WarningKind,
  locale: Locale,
): { reason: string; followUp: string } {
  const instruction = w.instruction.trim();
  const lines = w.description
    .split(/\n+/)
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines[lines.length - 1];
  const reasonLines =
    lines.length > 1 && instruction && last && bare(last) === bare(instruction) ? [last] : lines;
  const reason = reasonLines.map((l) => sentence(l, locale)).join(locale === 'en' ? ' ' : '');
  const reasonBare = sentencesOf(reason).map(bare);
  const follow = sentencesOf(instruction).filter((s) => {
    const b = bare(s);
    return (
      b &&
      !ALERT_ONLY_INSTRUCTION.test(s) &&
      !reasonBare.some((r) => r.includes(b) || b.includes(r))
    );
  });
  const followUp = follow.length
    ? follow.map((s) => sentence(s, locale)).join(locale === 'en' ? ' ' : '')
    : AFTER_RELEASE[kind][locale];
  return { reason, followUp };
}

/** Title of a warning at a given level: 地质灾害气象风险橙色预警 / Orange … warning. */
export function titleAt(w: WarningContent, level: WarningLevel, locale: Locale): string {
  const en = locale === 'en';
  const hazard = en ? HAZARD_NAMES_EN[w.hazard] : HAZARD_NAMES_ZH[w.hazard];
  if (en) {
    const category =
      w.kind === 'imminent'
        ? `imminent ${hazard} warning`
        : 'geological-hazard meteorological risk warning';
    return `${COLOUR_EN[level]} ${category}`;
  }
  return w.kind === 'imminent'
    ? `${hazard}${LEVEL_COLOURS_ZH[level]}临灾预警`
    : `地质灾害气象风险${LEVEL_COLOURS_ZH[level]}预警`;
}

function levelNameZh(level: WarningLevel): string {
  return `${LEVEL_COLOURS_ZH[level]}（${LEVEL_RANKS_ZH[level]}）`;
}

/** What an update changed, compared with `TemplateContext.previous`. */
export interface WarningChange {
  level: LevelChange;
  /** The previous level when it differs. */
  from?: WarningLevel;
  added: string[];
  removed: string[];
  /** Time changes, full wording: 预警时段延长至7月11日20时 / validity extended to 20:00 11 Jul. */
  times: string[];
  /** Time changes, short wording for SMS: 有效期延至11日20时. */
  timesShort: string[];
  /** Everything that changed, one line; 预警内容已更新 only when `previous` gives nothing to compare. */
  text: string;
}

function describeChange(ctx: TemplateContext, locale: Locale): WarningChange | undefined {
  const w = ctx.warning;
  if (w.msgType !== 'update') return undefined;
  const en = locale === 'en';
  const prev = ctx.previous;
  const parts: string[] = [];
  let level: LevelChange = 'same';
  let from: WarningLevel | undefined;
  if (prev?.level && prev.level !== w.level) {
    from = prev.level;
    level = LEVEL_NUMBERS[w.level] < LEVEL_NUMBERS[prev.level] ? 'raised' : 'lowered';
    if (en) {
      parts.push(`level ${level} from ${LEVEL_NAMES_EN[prev.level]} to ${LEVEL_NAMES_EN[w.level]}`);
    } else {
      parts.push(
        `预警等级由${levelNameZh(prev.level)}${level === 'raised' ? '提升' : '降低'}为${levelNameZh(w.level)}`,
      );
    }
  }
  let added: string[] = [];
  let removed: string[] = [];
  if (prev?.areas) {
    const before = new Set(prev.areas.map((a) => a.code));
    const now = new Set(w.areas.map((a) => a.code));
    added = w.areas.filter((a) => !before.has(a.code)).map((a) => a.name);
    removed = prev.areas.filter((a) => !now.has(a.code)).map((a) => a.name);
    if (en) {
      if (added.length) parts.push(`added: ${listPlaces(added, locale, 10)}`);
      if (removed.length) parts.push(`no longer under warning: ${listPlaces(removed, locale, 10)}`);
    } else {
      if (added.length) parts.push(`新增${listPlaces(added, locale, 10)}`);
      if (removed.length) parts.push(`${listPlaces(removed, locale, 10)}不再列入预警范围`);
    }
  }
  const times: string[] = [];
  const timesShort: string[] = [];
  // At the precision the texts print (minutes): seconds apart is not a change anyone can read.
  const minute = (d: Date): number => Math.floor(d.getTime() / 60_000);
  const moved = (before: Date | undefined, after: Date | undefined): number =>
    before && after ? Math.sign(minute(after) - minute(before)) : 0;
  const full = (d: Date): string =>
    en ? enDateTime(d, { year: false }) : zhDateTime(d, { year: false });
  const short = (d: Date): string => (en ? enShortTime(d, w.sentAt) : zhShortTime(d, w.sentAt));
  const eff = moved(prev?.effective, w.effective);
  if (eff) {
    times.push(en ? `now valid from ${full(w.effective)}` : `预警时段改为自${full(w.effective)}起`);
    timesShort.push(en ? `from ${short(w.effective)}` : `自${short(w.effective)}起`);
  }
  const onset = moved(prev?.onset, w.onset);
  if (onset && w.onset) {
    const verb = en ? (onset < 0 ? 'brought forward' : 'put back') : onset < 0 ? '提前' : '推迟';
    times.push(
      en ? `expected time ${verb} to ${full(w.onset)}` : `预计发生时间${verb}至${full(w.onset)}`,
    );
    timesShort.push(en ? `expected ${short(w.onset)}` : `发生时间${verb}至${short(w.onset)}`);
  }
  const exp = moved(prev?.expires, w.expires);
  if (exp) {
    const verb = en ? (exp > 0 ? 'extended' : 'shortened') : exp > 0 ? '延长' : '缩短';
    times.push(
      en ? `validity ${verb} to ${full(w.expires)}` : `预警时段${verb}至${full(w.expires)}`,
    );
    timesShort.push(en ? `valid to ${short(w.expires)}` : `有效期${verb[0]}至${short(w.expires)}`);
  }
  parts.push(...times);
  if (!parts.length) parts.push(en ? 'the warning has been updated' : '预警内容已更新');
  const text = en ? parts.join('; ').replace(/^./, (c) => c.toUpperCase()) : parts.join('；');
  return { level, from, added, removed, times, timesShort, text };
}

export function warningFacts(ctx: TemplateContext): WarningFacts {
  const locale = localeOf(ctx);
  const w = ctx.warning;
  const en = locale === 'en';
  const imminent = w.kind === 'imminent';
  const hazard = en ? HAZARD_NAMES_EN[w.hazard] : HAZARD_NAMES_ZH[w.hazard];
  const colour = en ? COLOUR_EN[w.level] : LEVEL_COLOURS_ZH[w.level];
  const rank = en ? RANK_EN[w.level] : LEVEL_RANKS_ZH[w.level];
  const category = en
    ? imminent
      ? `imminent ${hazard} warning`
      : 'geological-hazard meteorological risk warning'
    : imminent
      ? `${hazard}临灾预警`
      : '地质灾害气象风险预警';
  const title = en
    ? `${colour} ${category}`
    : imminent
      ? `${hazard}${colour}临灾预警`
      : `地质灾害气象风险${colour}预警`;
  const dropped =
    ctx.dropped && w.msgType === 'cancel'
      ? (() => {
          const names = uniqueNames(ctx.dropped.places);
          return {
            places: names,
            placeList: listPlaces(names, locale),
            level: ctx.dropped.level,
            title: titleAt(w, ctx.dropped.level, locale),
          };
        })()
      : undefined;
  // A release after an update names only the recipient's dropped areas, never the areas (or the
  // hazard points) still under the warning.
  const places = dropped ? dropped.places : placeNamesOf(ctx);
  const cancel = w.msgType === 'cancel' ? cancelTexts(w, w.kind, locale) : undefined;
  const mark = statusMark(w.status, locale);
  const fmt = en ? enDateTime : zhDateTime;
  const impact =
    w.impact && !(ctx.dropped && w.msgType === 'cancel')
      ? en
        ? `${w.impact.people} people in ${w.impact.households} households threatened`
        : `威胁${w.impact.households}户${w.impact.people}人`
      : undefined;
  return {
    locale,
    w,
    imminent,
    hazard,
    colour,
    rank,
    level: en ? LEVEL_NAMES_EN[w.level] : levelNameZh(w.level),
    category,
    title,
    issuer: w.issuer.name,
    signature: ctx.signature ?? w.issuer.name,
    issuedAt: fmt(w.sentAt),
    window: en
      ? `${enRange(w.effective, w.expires)} (Beijing time)`
      : zhRange(w.effective, w.expires),
    startsAt: fmt(w.onset ?? w.effective),
    onset: w.onset ? fmt(w.onset) : undefined,
    onsetShort: w.onset ? (en ? enShortTime : zhShortTime)(w.onset, w.sentAt) : undefined,
    windowShort: en
      ? `${enShortTime(w.effective, w.sentAt)}-${enShortTime(w.expires, w.effective)}`
      : `${zhShortTime(w.effective, w.sentAt)}至${zhShortTime(w.expires, w.effective)}`,
    places,
    placeList: listPlaces(places, locale),
    hazardPoints: dropped ? [] : w.hazardPoints.map((p) => p.name),
    riskZones: dropped ? [] : w.riskZones.map((p) => p.name),
    risk: LEVEL_POLICY[w.level].risk[locale],
    impact,
    impactCount: w.impact
      ? en
        ? `${w.impact.people} people in ${w.impact.households} households`
        : `${w.impact.households}户${w.impact.people}人`
      : undefined,
    extent: (!dropped && w.extent?.trim()) || undefined,
    shelter: (!dropped && w.shelter?.trim()) || undefined,
    // A release after an update carries the new version's texts, which are about the areas still
    // under the warning: none of them is read to the people released.
    description: dropped ? '' : cancel ? cancel.reason : w.description.trim(),
    instruction: dropped
      ? AFTER_RELEASE[w.kind][locale]
      : cancel
        ? cancel.followUp
        : w.instruction.trim(),
    change: describeChange(ctx, locale),
    mark,
    tag: mark?.tag ?? '',
    dropped,
    confirmKey: ctx.replyCode ?? '1',
    helpKey: '2',
    recipientName: ctx.recipient?.name,
    recipientRole: ctx.recipient?.role,
    confirmUrl: ctx.recipient?.confirmUrl,
  };
}

/** A label: value line list for long texts (SMS long form, e-mail text), skipping empty values. */
export function fieldLines(
  fields: ReadonlyArray<[string, string | undefined]>,
  locale: Locale,
): string[] {
  const sep = locale === 'en' ? ': ' : '：';
  return fields.filter(([, v]) => v && v.trim()).map(([k, v]) => `${k}${sep}${v!.trim()}`);
}

/**
 * The legally required elements (category, level, start time, area, what to watch, measures,
 * issuing authority) plus the imminent-warning details, as labelled fields.
 */
export function warningFields(f: WarningFacts): Array<[string, string | undefined]> {
  const en = f.locale === 'en';
  const pointsAndZones = [...f.hazardPoints, ...f.riskZones];
  const points = pointsAndZones.length ? listPlaces(pointsAndZones, f.locale, 10) : undefined;
  if (f.dropped) {
    return en
      ? [
          ['Category', f.category],
          ['Level you had', LEVEL_NAMES_EN[f.dropped.level]],
          ['Issued by', f.issuer],
          ['Changed at', `${f.issuedAt} (Beijing time)`],
          ['No longer under the warning', f.dropped.placeList],
          ['Measures', AFTER_RELEASE[f.w.kind].en],
          ['Warning id', f.w.nationalId],
        ]
      : [
          ['预警类别', f.category],
          ['原预警等级', levelNameZh(f.dropped.level)],
          ['发布单位', f.issuer],
          ['调整时间', f.issuedAt],
          ['不再列入预警范围', f.dropped.placeList],
          ['后续措施', AFTER_RELEASE[f.w.kind]['zh-CN']],
          ['预警编号', f.w.nationalId],
        ];
  }
  if (f.w.msgType === 'cancel') {
    return en
      ? [
          ['Category', f.category],
          ['Level', f.level],
          ['Issued by', f.issuer],
          ['Cancelled at', `${f.issuedAt} (Beijing time)`],
          ['Area', f.placeList],
          ['Hazard points / risk zones', points],
          ['Reason', freeText(f.description, 'en')],
          ['Measures', freeText(f.instruction, 'en')],
          ['Warning id', f.w.nationalId],
        ]
      : [
          ['预警类别', f.category],
          ['预警等级', f.level],
          ['发布单位', f.issuer],
          ['解除时间', f.issuedAt],
          ['涉及区域', f.placeList],
          ['隐患点/风险区', points],
          ['解除说明', f.description],
          ['后续措施', f.instruction],
          ['预警编号', f.w.nationalId],
        ];
  }
  if (en) {
    return [
      ['Category', f.category],
      ['Level', f.level],
      ['Issued by', f.issuer],
      ['Issued at', `${f.issuedAt} (Beijing time)`],
      ['Change', f.change?.text],
      ['Valid', f.window],
      [
        'Expected at',
        f.onset ? `${f.onset} (Beijing time)` : f.imminent ? 'any time now' : undefined,
      ],
      ['Area', f.placeList],
      ['Hazard points / risk zones', points],
      ['Extent', f.extent && freeText(f.extent, 'en')],
      ['Threatened', f.impactCount],
      ['What to watch', freeText(f.description, 'en')],
      ['Measures', freeText(f.instruction, 'en')],
      ['Shelter', f.shelter],
      ['Warning id', f.w.nationalId],
    ];
  }
  return [
    ['预警类别', f.category],
    ['预警等级', f.level],
    ['发布单位', f.issuer],
    ['发布时间', f.issuedAt],
    ['变更内容', f.change?.text],
    ['预警时段', f.window],
    ['预计发生时间', f.onset ? `${f.onset}前后` : f.imminent ? '随时可能发生' : undefined],
    ['可能影响区域', f.placeList],
    ['隐患点/风险区', points],
    ['影响范围', f.extent],
    ['威胁对象', f.impactCount],
    ['关注事项', f.description],
    ['防范措施', f.instruction],
    ['避险场所', f.shelter],
    ['预警编号', f.w.nationalId],
  ];
}
