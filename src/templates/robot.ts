/**
 * Group-robot markdown (WeCom / DingTalk / Feishu). Robots are one-way, so every mentioned
 * person gets an @mention and their own signed confirm link.
 *
 * Byte limits of one message's markdown (UTF-8), see ROBOT_MARKDOWN_BYTE_LIMITS:
 * - WeCom: markdown content at most 4096 bytes;
 * - DingTalk: about 20000 bytes;
 * - Feishu: the whole request body is limited to 30 KB; the markdown budget is 18000 bytes (its custom-bot guide caps the request body at 20 KB) to
 *   leave room for the JSON envelope and escaping.
 * When the warning plus all mentions do not fit, the warning text is shortened step by step
 * (place list 20 → 10 → 5 → 3 names, description and instruction cut at sentence boundaries,
 * details dropped), and mentions are spread over several messages, each repeating the title and
 * the warning id; every message is within the limit.
 *
 * Line breaks: DingTalk markdown only breaks on a blank line, so fields are separated by '\n\n'
 * there and by '\n' on WeCom and Feishu.
 *
 * Mention syntax: WeCom `<@userid>`; DingTalk `@mobile` / `@userId` in the text plus the
 * `atMobiles` / `atUserIds` returned for the request's `at` object; Feishu
 * `<at user_id="ou_…">name</at>` with the person's Feishu id (open_id / user_id), which notifies
 * them. A person without a usable platform id is written as their plain name (WeCom / DingTalk
 * `@name`, Feishu the name alone, never a tag without an id), followed by a note that they were
 * not notified in the group.
 *
 * Drills and tests carry their mark (【演练】 / 【测试】, [DRILL] / [TEST]) at the start of the title
 * and of the first line of every message.
 */
import { droppedSentence, referencedPhrase, tagOf } from './common';
import {
  leadSentences,
  LEVEL_EMOJI,
  listPlaces,
  WarningFacts,
  warningFacts,
  warningFields,
} from './format';
import type {
  RobotContext,
  RobotMention,
  RobotMessage,
  RobotMessagePart,
  RobotPlatform,
  TemplateTable,
} from './types';

export const ROBOT_MARKDOWN_BYTE_LIMITS: Record<RobotPlatform, number> = {
  wecom: 4096,
  dingtalk: 20000,
  feishu: 18000,
};

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
export function cutToBytes(s: string, max: number, ellipsis = '…'): string {
  if (utf8Bytes(s) <= max) return s;
  const budget = max - utf8Bytes(ellipsis);
  let out = '';
  let used = 0;
  for (const ch of s) {
    const b = utf8Bytes(ch);
    if (used + b > budget) break;
    out += ch;
    used += b;
  }
  return out + ellipsis;
}

/** Neutralises markdown / mention syntax in free text (full-width look-alikes). */
export function mdText(s: string): string {
  return s
    .replace(/</g, '＜')
    .replace(/>/g, '＞')
    .replace(/\[/g, '［')
    .replace(/]/g, '］')
    .replace(/\*/g, '＊')
    .replace(/`/g, '｀')
    .replace(/_/g, '＿');
}

/** Only http(s) URLs, with characters that would end a markdown link percent-encoded. */
export function mdUrl(url: string): string | undefined {
  if (!/^https?:\/\//i.test(url)) return undefined;
  return url.replace(
    /[\s()<>[\]]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

function mentionToken(platform: RobotPlatform, m: RobotMention): string {
  const name = mdText(m.name);
  switch (platform) {
    case 'wecom':
      return m.userId ? `<@${m.userId}>` : `@${name}`;
    case 'dingtalk':
      if (m.mobile) return `${name} @${m.mobile}`;
      return m.userId ? `${name} @${m.userId}` : `@${name}`;
    case 'feishu':
      return feishuId(m.userId) ? `<at user_id="${m.userId}">${name}</at>` : name;
  }
}

/** A Feishu open_id / user_id fit for an attribute: letters, digits, '_' and '-' only. */
function feishuId(id: string | undefined): id is string {
  return !!id && /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

/** True when the platform notifies this person through the mention. */
function notified(platform: RobotPlatform, m: RobotMention): boolean {
  if (platform === 'feishu') return feishuId(m.userId);
  if (platform === 'dingtalk') return !!(m.mobile || m.userId);
  return !!m.userId;
}

function mentionLine(platform: RobotPlatform, m: RobotMention, f: WarningFacts): string {
  const en = f.locale === 'en';
  const url = m.confirmUrl ? mdUrl(m.confirmUrl) : undefined;
  const action = url
    ? `[${en ? 'Confirm receipt' : '点击确认收到'}](${url})`
    : en
      ? '(please confirm by SMS reply or phone)'
      : '（请通过短信回复或电话确认）';
  const unnotified = notified(platform, m)
    ? ''
    : en
      ? ' (no group account, not notified here)'
      : '（未绑定群账号，无法@提醒）';
  return `- ${mentionToken(platform, m)}${unnotified} ${action}`;
}

interface Detail {
  places: number;
  description: number;
  instruction: number;
  extras: boolean;
}
const DETAIL_STEPS: Detail[] = [
  { places: 20, description: 2000, instruction: 2000, extras: true },
  { places: 10, description: 300, instruction: 300, extras: true },
  { places: 5, description: 120, instruction: 150, extras: false },
  { places: 3, description: 0, instruction: 80, extras: false },
];
const EXTRA_FIELDS = new Set([
  '隐患点/风险区',
  '影响范围',
  '变更内容',
  'Hazard points / risk zones',
  'Extent',
  'Change',
]);

/** The notification title: 【演练】解除滑坡红色临灾预警 / 预警范围调整：… */
function titleOf(f: WarningFacts): string {
  const en = f.locale === 'en';
  if (f.dropped) {
    return `${tagOf(f)}${en ? 'Warning area changed: ' : '预警范围调整：'}${f.dropped.title}`;
  }
  if (f.w.msgType === 'cancel') return `${tagOf(f)}${en ? 'Cancelled: ' : '解除'}${f.title}`;
  if (f.w.msgType === 'update') return `${tagOf(f)}${f.title}${en ? ' (updated)' : '（更新）'}`;
  return `${tagOf(f)}${f.title}`;
}

function heading(f: WarningFacts): string {
  const emoji = f.w.msgType === 'cancel' ? '✅' : LEVEL_EMOJI[f.w.level];
  const tag = tagOf(f);
  return `**${tag}${emoji} ${mdText(titleOf(f).slice(tag.length))}**`;
}

function header(f: WarningFacts, d: Detail, nl: string): string {
  const en = f.locale === 'en';
  const sep = en ? ': ' : '：';
  const lead = f.dropped
    ? droppedSentence(f, false)
    : f.w.msgType === 'cancel'
      ? en
        ? `The ${f.title} ${referencedPhrase(f)} is cancelled.`
        : `${referencedPhrase(f)}${f.title}现予解除。`
      : '';
  // The description and the instruction cut to this detail step before they become fields (an
  // English field quotes a Chinese one whole, see freeText).
  const fields = warningFields({
    ...f,
    placeList: listPlaces(f.places, f.locale, d.places),
    description: d.description ? leadSentences(f.description, d.description) : '',
    instruction: leadSentences(f.instruction, d.instruction),
  })
    .filter(([k]) => d.extras || !EXTRA_FIELDS.has(k))
    .filter(([k]) => k !== '预警编号' && k !== 'Warning id')
    .filter(([, v]) => v && v.trim())
    .map(([k, v]) => `**${k}**${sep}${mdText(v!.trim())}`);
  return [heading(f), lead && mdText(lead), ...fields].filter(Boolean).join(nl);
}

function footer(f: WarningFacts): string {
  return `> ${f.locale === 'en' ? 'Warning id' : '预警编号'} ${f.w.nationalId}`;
}

function mentionsIntro(f: WarningFacts): string {
  return f.locale === 'en' ? '**Please confirm receipt:**' : '**请以下人员点击链接确认收到：**';
}

function continuationHeader(f: WarningFacts, n: number): string {
  const en = f.locale === 'en';
  return `${heading(f).replace(/\*\*$/, en ? ` (cont. ${n})**` : `（续${n}）**`)}`;
}

function part(markdown: string, mentions: RobotMention[]): RobotMessagePart {
  return {
    markdown,
    bytes: utf8Bytes(markdown),
    mentions,
    atMobiles: mentions.flatMap((m) => (m.mobile ? [m.mobile] : [])),
    atUserIds: mentions.flatMap((m) => (!m.mobile && m.userId ? [m.userId] : [])),
  };
}

function renderRobot(ctx: RobotContext): RobotMessage {
  const f = warningFacts(ctx);
  const platform = ctx.platform;
  // DingTalk markdown needs a blank line for a line break; WeCom and Feishu honour '\n'.
  const nl = platform === 'dingtalk' ? '\n\n' : '\n';
  const limit = ctx.maxBytes ?? ROBOT_MARKDOWN_BYTE_LIMITS[platform];
  const mentions = ctx.mentions ?? [];
  const lines = mentions.map((m) => mentionLine(platform, m, f));
  const intro = mentions.length ? mentionsIntro(f) : '';
  const foot = footer(f);
  const join = (...blocks: string[]): string => blocks.filter(Boolean).join('\n\n');
  const title = titleOf(f);

  // 1. Choose the richest header that leaves room for the footer and at least one mention.
  const firstLine = lines[0] ?? '';
  let head = '';
  for (const d of DETAIL_STEPS) {
    head = header(f, d, nl);
    if (utf8Bytes(join(head, intro && `${intro}\n${firstLine}`, foot)) <= limit) break;
  }
  const reserve = utf8Bytes(join('', intro && `${intro}\n${firstLine}`, foot)) + 4;
  if (utf8Bytes(join(head, intro && `${intro}\n${firstLine}`, foot)) > limit) {
    head = cutToBytes(head, Math.max(0, limit - reserve));
  }

  // 2. Pack mentions.
  const messages: RobotMessagePart[] = [];
  let blockHead = head;
  let batch: string[] = [];
  let batchMentions: RobotMention[] = [];
  const flush = (): void => {
    const md = join(blockHead, batch.length ? `${intro}\n${batch.join('\n')}` : '', foot);
    messages.push(part(md, batchMentions));
    blockHead = continuationHeader(f, messages.length);
    batch = [];
    batchMentions = [];
  };
  lines.forEach((line, i) => {
    const candidate = join(blockHead, `${intro}\n${[...batch, line].join('\n')}`, foot);
    if (utf8Bytes(candidate) > limit && batch.length) flush();
    // A single over-long line (absurd name/URL) is cut rather than breaking the limit.
    const alone = join(blockHead, `${intro}\n${line}`, foot);
    const fitted =
      utf8Bytes(alone) > limit
        ? cutToBytes(line, Math.max(0, limit - utf8Bytes(join(blockHead, `${intro}\n`, foot)) - 2))
        : line;
    batch.push(fitted);
    batchMentions.push(mentions[i]!);
  });
  if (batch.length || !messages.length) flush();
  return { platform, title, messages };
}

export const robotTemplates: TemplateTable<RobotContext, RobotMessage> = {
  'zh-CN': {
    imminent: { alert: renderRobot, update: renderRobot, cancel: renderRobot },
    meteorological_risk: { alert: renderRobot, update: renderRobot, cancel: renderRobot },
  },
  en: {
    imminent: { alert: renderRobot, update: renderRobot, cancel: renderRobot },
    meteorological_risk: { alert: renderRobot, update: renderRobot, cancel: renderRobot },
  },
};
