/**
 * SMS templates: a short form that always fits ONE segment (70 characters including the
 * 【signature】 for UCS-2 text) and a long form with every legally required element.
 *
 * Short-form priorities. Always kept, never cut (the "minimal wording"):
 *   1. the 【signature】;
 *   2. the label with the level colour and the warning type, e.g. 滑坡红色临灾预警： /
 *      地质灾害气象风险黄色预警： / 滑坡临灾预警升级为红色： / 解除滑坡红色临灾预警;
 *   3. a minimal place: the first place name (cut to 10 characters if longer, or the shared
 *      town/county 汶川县映秀镇等地 when shorter) followed by 等 if there are more places;
 *   4. the core action (imminent: 请立即撤离) or the risk wording (meteorological: 风险较高);
 *   5. the reply instruction 回复1确认: every short SMS asks for an answer, so it outranks the
 *      place in full (the place is shortened to its own name, 渔子溪村等, to make room).
 * Then, richer wordings are added while the message still fits one segment, in this order:
 *   p1 the first place name in full (汶川县映秀镇渔子溪村等);
 *   p3 the time (imminent: 预计22时前后可能发生滑坡; meteorological: the validity window);
 *   p4 the shelter (请立即撤离至映秀小学) / the meteorological measure (请加强巡查防范);
 *   p5…p7 more place names: 2, 3, then 4 and more up to the full list (等 dropped when all fit);
 *   p8 the rank next to the colour (红色（一级）) or the previous level on updates.
 * So with very long place lists the list is cut with 等 before the reply instruction or the
 * time are dropped, and the level and signature are never touched.
 *
 * Last resort, only if the minimal wording itself is too long (an unusually long signature, a
 * drill mark in English): the time phrase is shortened, the reply instruction given up (before
 * an imminent warning's shelter and time), then the time/risk phrase is dropped, then the place
 * is cut to six characters (汶川…). A wording given up that, in the end, was not needed for the
 * room is given back (see fitToSegment).
 * If even signature + label + action exceed one segment, `shortFits` is false and the text is
 * returned uncut (a configuration error to surface, not to hide).
 *
 * English follows the same rule with fewer characters to spare (Latin words are longer, and the
 * 【signature】 makes the text UCS-2, 70 characters): an imminent warning's minimal wording is
 * place, time and shelter, `Red landslide: 渔子溪村 etc ~22:00. Go to 映秀镇小学 now.`, with the
 * place's own name (渔子溪村, not cut) and the label without "warning"; the fuller label, the full
 * place name, the reply instruction and more places are upgrades. An English place is never cut:
 * its last resort is its own name (渔子溪村), and a cancel always names it. When even that does not
 * fit, what an update changed is given up first, then the "update" of its label, then as in Chinese.
 */
import { LEVEL_COLOURS_ZH, WarningLevel } from '../common/domain/warning.types';
import {
  droppedSentence,
  greeting,
  referencedPhrase,
  segmentsOf,
  signatureOf,
  tagOf,
} from './common';
import {
  article,
  commonDivisionPrefix,
  codePoints,
  cut,
  fieldLines,
  leadSentences,
  ownPlaceName,
  placePart,
  WarningFacts,
  warningFacts,
  warningFields,
} from './format';
import {
  AFTER_RELEASE_SHORT,
  IMMINENT_ACTION,
  IMMINENT_GO_TO,
  LEVEL_POLICY,
  NO_SHELTER,
} from './policy';
import { fitToSegment, SmsPart } from './sms-segments';
import type { SmsContext, SmsMessage, TemplateTable } from './types';

const PLACE_PRIORITY = { first: 1, more: 5 } as const;

/**
 * Last-resort wordings (only when the minimal message does not fit, see SmsPart.poorer), given up
 * highest first: the time phrase shortened, the change summary cut to its first item, the
 * shelter, the change summary, the time, then the place cut to six characters.
 */
const GIVE_UP = {
  timeShort: 33,
  changeShort: 32.5,
  reply: 32.25,
  shelter: 32,
  change: 31,
  time: 30,
  places: 20,
} as const;

/** English last resorts, given up before the Chinese ones (GIVE_UP) that English shares. */
const GIVE_UP_EN = { changeShort: 35, change: 34.5, label: 34, risk: 33.5, now: 32.4 } as const;

function places(names: readonly string[], locale: 'zh-CN' | 'en'): SmsPart {
  if (locale === 'en') return placesEn(names);
  const p = placePart(names, locale, PLACE_PRIORITY);
  if (!p.text) return p;
  // The minimal place is the first place's own name (渔子溪村等) when shorter; the fuller
  // wording (汶川县映秀镇渔子溪村等) is the first upgrade, after the reply instruction.
  const own = ownPlaceName(names[0]!);
  const minimal = codePoints(own) <= 10 ? own + (names.length > 1 ? '等' : '') : p.text;
  const shorter = codePoints(minimal) < codePoints(p.text);
  return {
    ...p,
    text: shorter ? minimal : p.text,
    richer: shorter
      ? [{ text: p.text, priority: PLACE_PRIORITY.first }, ...(p.richer ?? [])]
      : p.richer,
    poorer: [{ text: cut(shorter ? minimal : p.text, 6, '…'), priority: GIVE_UP.places }],
  };
}

/**
 * English places: the minimal wording is the first place's own name (渔子溪村 etc), never cut;
 * the Chinese minimal wording (汶川县映秀镇渔子溪村 etc) is the first upgrade, then more places.
 */
function placesEn(names: readonly string[]): SmsPart {
  const p = placePart(names, 'en', PLACE_PRIORITY);
  if (!p.text) return p;
  const own = ownPlaceName(names[0]!);
  const minimal = codePoints(own) <= 10 ? own + (names.length > 1 ? ' etc' : '') : p.text;
  if (minimal === p.text) return p;
  return {
    ...p,
    text: minimal,
    richer: [{ text: p.text, priority: PLACE_PRIORITY.first }, ...(p.richer ?? [])],
  };
}

const COLOUR_EN: Record<WarningLevel, string> = {
  red: 'Red',
  orange: 'Orange',
  yellow: 'Yellow',
  blue: 'Blue',
};

/**
 * The reply instruction: part of the minimal wording (the chain waits for the answer), given up
 * only as a last resort (GIVE_UP.reply), before an imminent warning's shelter and time.
 */
function reply(f: WarningFacts): SmsPart {
  const en = f.locale === 'en';
  return {
    name: 'reply',
    text: en ? ` Reply ${f.confirmKey}` : `回复${f.confirmKey}确认`,
    poorer: [{ text: '', priority: GIVE_UP.reply }],
  };
}

/* ---- short bodies (after the label) ---- */

function imminentBodyZh(f: WarningFacts): SmsPart[] {
  // Place, time and shelter are all part of the minimal wording of an imminent warning.
  const shelter = f.shelter ?? NO_SHELTER['zh-CN'];
  return [
    places(f.places, 'zh-CN'),
    {
      name: 'time',
      text: f.onsetShort
        ? `预计${f.onsetShort}前后可能发生${f.hazard}，`
        : `随时可能发生${f.hazard}，`,
      poorer: [
        {
          text: f.onsetShort ? `预计${f.onsetShort}前后有${f.hazard}，` : `随时有${f.hazard}，`,
          priority: GIVE_UP.timeShort,
        },
        { text: '', priority: GIVE_UP.time },
      ],
    },
    {
      name: 'action',
      text: `${IMMINENT_ACTION['zh-CN']}至${shelter}。`,
      poorer: [{ text: `${IMMINENT_ACTION['zh-CN']}。`, priority: GIVE_UP.shelter }],
    },
    reply(f),
  ];
}

function meteoBodyZh(f: WarningFacts): SmsPart[] {
  return [
    { name: 'time', text: '', richer: [{ text: `${f.windowShort}，`, priority: 3 }] },
    places(f.places, 'zh-CN'),
    {
      name: 'risk',
      text: `${f.risk}，`,
      poorer: [{ text: '', priority: GIVE_UP.time }],
      richer: [{ text: `地质灾害${f.risk}，`, priority: 6 }],
    },
    {
      // Never ends on the risk alone (…风险很高，回复1确认): at least the short measure.
      name: 'action',
      text: LEVEL_POLICY[f.w.level].actionShort['zh-CN'],
      richer: [{ text: LEVEL_POLICY[f.w.level].action['zh-CN'], priority: 4 }],
    },
    reply(f),
  ];
}

function imminentBodyEn(f: WarningFacts): SmsPart[] {
  // Place, time and shelter are all part of the minimal wording, as in Chinese.
  const shelter = f.shelter ?? NO_SHELTER.en;
  return [
    places(f.places, 'en'),
    {
      name: 'time',
      text: f.onsetShort ? ` ~${f.onsetShort}. ` : ', any time now. ',
      poorer: [{ text: '. ', priority: GIVE_UP.time }],
    },
    {
      name: 'action',
      text: `${IMMINENT_GO_TO.en} ${shelter} now.`,
      richer: [{ text: `${IMMINENT_ACTION.en} to ${shelter}.`, priority: 4 }],
      poorer: [
        // Without "now" rather than without the reply instruction.
        { text: `${IMMINENT_GO_TO.en} ${shelter}.`, priority: GIVE_UP_EN.now },
        { text: `${IMMINENT_ACTION.en}.`, priority: GIVE_UP.shelter },
      ],
    },
    reply(f),
  ];
}

function meteoBodyEn(f: WarningFacts): SmsPart[] {
  return [
    { name: 'time', text: '', richer: [{ text: `${f.windowShort}, `, priority: 3 }] },
    places(f.places, 'en'),
    {
      // The colour of the label already says how high the risk is: given up before the reply.
      name: 'risk',
      text: `: ${f.risk} risk.`,
      poorer: [{ text: '.', priority: GIVE_UP_EN.risk }],
    },
    {
      name: 'action',
      text: '',
      richer: [{ text: ` ${LEVEL_POLICY[f.w.level].action.en}`, priority: 4 }],
    },
    reply(f),
  ];
}

/* ---- labels ---- */

function alertLabelZh(f: WarningFacts): SmsPart {
  const withRank = f.imminent
    ? `${f.hazard}${f.colour}（${f.rank}）临灾预警：`
    : `地质灾害气象风险${f.colour}预警（${f.rank}）：`;
  return { name: 'label', text: `${f.title}：`, richer: [{ text: withRank, priority: 8 }] };
}

function updateLabelZh(f: WarningFacts): SmsPart {
  const change = f.change?.level ?? 'same';
  if (change === 'same') return { name: 'label', text: `${f.title}更新：` };
  const verb = change === 'raised' ? '升级为' : '降为';
  const from = f.change?.from ? `由${LEVEL_COLOURS_ZH[f.change.from]}` : '';
  return { name: 'label', text: `${f.category}${from}${verb}${f.colour}：` };
}

/** Areas added and times moved, in short: 新增枫香树村等2处，有效期延长至11日20时； */
function changeItems(f: WarningFacts): string[] {
  const c = f.change;
  if (!c) return [];
  const en = f.locale === 'en';
  const items: string[] = [];
  if (c.added.length === 1) {
    // Without the division prefix all areas share: 东界脑村, not 汶川县映秀镇东界脑村.
    const prefix = commonDivisionPrefix(f.w.areas.map((a) => a.name));
    const name = c.added[0]!;
    const own = prefix && name.startsWith(prefix) ? name.slice(prefix.length) : name;
    items.push(`${en ? 'added ' : '新增'}${cut(own, 10)}`);
  } else if (c.added.length)
    items.push(en ? `${c.added.length} areas added` : `新增${c.added.length}处`);
  items.push(...c.timesShort);
  return items;
}

/**
 * What an update changed besides the level: part of the minimal wording when the level did not
 * change (then it is the news), an upgrade when the label already says the level moved.
 */
function changePart(f: WarningFacts): SmsPart {
  const items = changeItems(f);
  if (!items.length) return { name: 'change', text: '' };
  const en = f.locale === 'en';
  const text = en ? `${items.join(', ')}. ` : `${items.join('，')}；`;
  if (f.change?.level !== 'same')
    return { name: 'change', text: '', richer: [{ text, priority: 2.5 }] };
  const first = en ? `${items[0]}. ` : `${items[0]}；`;
  // English: an imminent warning's place, time and shelter come before what the update changed.
  const giveUp = en && f.imminent ? GIVE_UP_EN : GIVE_UP;
  return {
    name: 'change',
    text,
    poorer: [
      ...(items.length > 1 ? [{ text: first, priority: giveUp.changeShort }] : []),
      { text: '', priority: giveUp.change },
    ],
  };
}

function alertLabelEn(f: WarningFacts): SmsPart {
  if (f.imminent) {
    return {
      name: 'label',
      text: `${f.colour} ${f.hazard}: `,
      richer: [
        { text: `${f.colour} ${f.hazard} warning: `, priority: 1 },
        { text: `${f.colour} imminent ${f.hazard} warning: `, priority: 8 },
      ],
    };
  }
  return {
    name: 'label',
    text: `${f.colour} geohazard risk: `,
    richer: [{ text: `${f.colour} geohazard risk warning: `, priority: 8 }],
  };
}

/** Short English title for one segment: Red landslide warning / Red geohazard risk warning. */
function enShortTitle(f: WarningFacts, level: WarningLevel = f.w.level): string {
  return `${COLOUR_EN[level]} ${f.imminent ? f.hazard : 'geohazard risk'} warning`;
}

function updateLabelEn(f: WarningFacts): SmsPart {
  if (f.imminent) return imminentUpdateLabelEn(f);
  const change = f.change?.level ?? 'same';
  const what = f.imminent
    ? `${f.hazard.replace(/^./, (c) => c.toUpperCase())} warning`
    : 'Geohazard risk';
  if (change === 'same') return { name: 'label', text: `${f.colour} ${what} updated: ` };
  const from = f.change?.from;
  if (!from) return { name: 'label', text: `${what} ${change} to ${f.colour}: ` };
  const hazard = f.imminent ? f.hazard.replace(/^./, (c) => c.toUpperCase()) : 'Geohazard';
  return {
    name: 'label',
    text: `${hazard} ${COLOUR_EN[from]}→${f.colour}: `,
    richer: [{ text: `${what} ${change} from ${COLOUR_EN[from]} to ${f.colour}: `, priority: 8 }],
  };
}

/**
 * The label of an imminent update in English, shortest first: Landslide→Red: (the level it is
 * now), then Landslide Orange→Red: and the full wording as upgrades. An update that kept its level
 * is a Red landslide update:, or Red landslide: as a last resort.
 */
function imminentUpdateLabelEn(f: WarningFacts): SmsPart {
  const change = f.change?.level ?? 'same';
  const hazard = f.hazard.replace(/^./, (c) => c.toUpperCase());
  if (change === 'same') {
    return {
      name: 'label',
      text: `${f.colour} ${f.hazard} update: `,
      richer: [{ text: `${f.colour} ${f.hazard} warning updated: `, priority: 1 }],
      poorer: [{ text: `${f.colour} ${f.hazard}: `, priority: GIVE_UP_EN.label }],
    };
  }
  const from = f.change?.from;
  return {
    name: 'label',
    text: `${hazard}→${f.colour}: `,
    richer: from
      ? [
          { text: `${hazard} ${COLOUR_EN[from]}→${f.colour}: `, priority: 1 },
          {
            text: `${hazard} warning ${change} from ${COLOUR_EN[from]} to ${f.colour}: `,
            priority: 8,
          },
        ]
      : [{ text: `${hazard} warning ${change} to ${f.colour}: `, priority: 1 }],
  };
}

/* ---- cancel ---- */

/** The cancel's own reason, short enough for one segment (first sentence, else dropped). */
function reasonPart(f: WarningFacts, lead: string, max: number): SmsPart {
  const first = leadSentences(f.description, max).replace(/[。.！!；;，,]+$/u, '');
  if (!first || first.endsWith('…')) return { name: 'reason', text: '' };
  return { name: 'reason', text: '', richer: [{ text: `${lead}${first}`, priority: 3 }] };
}

function cancelPartsZh(f: WarningFacts): SmsPart[] {
  const after = AFTER_RELEASE_SHORT[f.w.kind]['zh-CN'];
  const action: SmsPart = {
    name: 'action',
    text: '。',
    richer: [{ text: `，${after}`, priority: 4 }],
  };
  if (f.dropped && !f.dropped.places.length) {
    // Their area is still under the warning, but the update no longer addresses them.
    return [
      { name: 'dropped', text: `根据预警调整，您已不在${f.dropped.title}的通知对象之列` },
      action,
      reply(f),
    ];
  }
  if (f.dropped) {
    // A release after an update: their area left the warning; the warning itself goes on.
    const where = placePart(f.dropped.places, 'zh-CN', PLACE_PRIORITY);
    return [
      { name: 'label', text: '您所在的' },
      { ...where, poorer: [{ text: cut(where.text, 6), priority: GIVE_UP.places }] },
      { name: 'dropped', text: `已不在${f.dropped.title}范围内` },
      action,
      reply(f),
    ];
  }
  const places = placePart(f.places, 'zh-CN', PLACE_PRIORITY);
  const wrap = (s: string): string => (s ? `（${s}）` : '');
  const poorer = places.text ? [{ text: '', priority: GIVE_UP.places }] : [];
  return [
    { name: 'label', text: `解除${f.title}` },
    {
      ...places,
      text: wrap(places.text),
      richer: places.richer?.map((r) => ({ ...r, text: wrap(r.text) })),
      poorer,
    },
    reasonPart(f, '：', 24),
    action,
    reply(f),
  ];
}

function cancelPartsEn(f: WarningFacts): SmsPart[] {
  const after = AFTER_RELEASE_SHORT[f.w.kind].en;
  const action: SmsPart = {
    name: 'action',
    text: '.',
    richer: [{ text: `. ${after}`, priority: 4 }],
  };
  if (f.dropped && !f.dropped.places.length) {
    return [
      {
        name: 'dropped',
        text: `You are no longer addressed by the ${COLOUR_EN[f.dropped.level]} warning`,
      },
      action,
      reply(f),
    ];
  }
  if (f.dropped) {
    const level = COLOUR_EN[f.dropped.level];
    return [
      { name: 'label', text: '', richer: [{ text: 'Your area ', priority: 3 }] },
      placesEn(f.dropped.places),
      {
        name: 'dropped',
        text: ` is no longer in the ${level} warning`,
        richer: [
          { text: ` is no longer within the ${enShortTitle(f, f.dropped.level)}`, priority: 6 },
        ],
      },
      action,
      reply(f),
    ];
  }
  // The place is never dropped: its own name at least (渔子溪村 etc).
  const places = placesEn(f.places);
  const wrap = (s: string): string => (s ? ` (${s})` : '');
  return [
    {
      name: 'label',
      text: `Cancelled: ${enShortTitle(f)}`,
      // Without "warning" (Cancelled: Red landslide) rather than without the reply instruction.
      poorer: [
        {
          text: `Cancelled: ${enShortTitle(f).replace(/ warning$/, '')}`,
          priority: GIVE_UP_EN.label,
        },
      ],
    },
    {
      ...places,
      text: wrap(places.text),
      richer: places.richer?.map((r) => ({ ...r, text: wrap(r.text) })),
    },
    reasonPart(f, ': ', 60),
    action,
    reply(f),
  ];
}

/* ---- long form ---- */

const SMS_SKIPPED_FIELDS = new Set(['预警编号', '发布单位', 'Warning id', 'Issued by']);

function longText(f: WarningFacts): string {
  const en = f.locale === 'en';
  const w = f.w;
  let lead: string;
  if (f.dropped) {
    lead = droppedSentence(f, true);
  } else if (en) {
    lead =
      w.msgType === 'cancel'
        ? `The ${f.title} ${referencedPhrase(f)} is cancelled.`
        : w.msgType === 'update'
          ? `${f.issuer} has updated the ${f.title}.`
          : `${f.issuer} has issued ${article(f.title)}.`;
  } else {
    lead =
      w.msgType === 'cancel'
        ? `${referencedPhrase(f)}${f.title}现予解除。`
        : w.msgType === 'update'
          ? `${f.issuer}更新${f.title}。`
          : `${f.issuer}发布${f.title}。`;
  }
  const fields = warningFields(f).filter(([k]) => !SMS_SKIPPED_FIELDS.has(k));
  const lines = fieldLines(fields, f.locale);
  const replyLine = en
    ? `Reply ${f.confirmKey} to confirm receipt, ${f.helpKey} if you need help.` +
      (f.confirmUrl ? ` Or confirm here: ${f.confirmUrl}` : '')
    : `收到请回复${f.confirmKey}确认，需要支援请回复${f.helpKey}。` +
      (f.confirmUrl ? `也可点击链接确认：${f.confirmUrl} ` : '');
  return [`${signatureOf(f)}${tagOf(f)}${greeting(f)}${lead}`, ...lines, replyLine]
    .join('\n')
    .trim();
}

/* ---- assembly ---- */

/**
 * Both forms, each rendered when it is first read: a fan-out sends residents the short form and
 * responsible persons the long one, so each person's send renders only the form it sends (the
 * other is the same text whenever it is read).
 */
function build(f: WarningFacts, parts: SmsPart[]): SmsMessage {
  // The carrier signature comes first (carriers take the first 【…】 as the signature), the drill
  // or test mark right after it; neither is ever cut.
  let fit: ReturnType<typeof fitToSegment> | undefined;
  const shortForm = () =>
    (fit ??= fitToSegment([
      { name: 'signature', text: signatureOf(f) },
      { name: 'mark', text: tagOf(f) },
      ...parts,
    ]));
  let long: string | undefined;
  const longForm = () => (long ??= longText(f));
  return {
    get short() {
      return shortForm().text;
    },
    get long() {
      return longForm();
    },
    get shortSegments() {
      return shortForm().segments;
    },
    get longSegments() {
      return segmentsOf(longForm());
    },
    get shortFits() {
      return shortForm().fits;
    },
  };
}

type Body = (f: WarningFacts) => SmsPart[];

const alertOf =
  (label: (f: WarningFacts) => SmsPart, body: Body) =>
  (ctx: SmsContext): SmsMessage => {
    const f = warningFacts(ctx);
    return build(f, [label(f), ...body(f)]);
  };
const updateOf =
  (label: (f: WarningFacts) => SmsPart, body: Body) =>
  (ctx: SmsContext): SmsMessage => {
    const f = warningFacts(ctx);
    return build(f, [label(f), changePart(f), ...body(f)]);
  };
const cancelOf =
  (parts: Body) =>
  (ctx: SmsContext): SmsMessage => {
    const f = warningFacts(ctx);
    return build(f, parts(f));
  };

export const smsTemplates: TemplateTable<SmsContext, SmsMessage> = {
  'zh-CN': {
    imminent: {
      alert: alertOf(alertLabelZh, imminentBodyZh),
      update: updateOf(updateLabelZh, imminentBodyZh),
      cancel: cancelOf(cancelPartsZh),
    },
    meteorological_risk: {
      alert: alertOf(alertLabelZh, meteoBodyZh),
      update: updateOf(updateLabelZh, meteoBodyZh),
      cancel: cancelOf(cancelPartsZh),
    },
  },
  en: {
    imminent: {
      alert: alertOf(alertLabelEn, imminentBodyEn),
      update: updateOf(updateLabelEn, imminentBodyEn),
      cancel: cancelOf(cancelPartsEn),
    },
    meteorological_risk: {
      alert: alertOf(alertLabelEn, meteoBodyEn),
      update: updateOf(updateLabelEn, meteoBodyEn),
      cancel: cancelOf(cancelPartsEn),
    },
  },
};
