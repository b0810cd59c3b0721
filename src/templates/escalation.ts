/**
 * Escalation to a supervisor (上级责任人 / duty officer): who did not answer, in which role and
 * where, how often they were called, and what to do. Three renderings: an SMS (people beyond ten
 * summarised as 等N人), a plain text for robots / e-mail (up to 50 people), and a call script that
 * ends with the keypress prompt (up to five names, no phone numbers read out).
 */
import {
  KEYPRESS_PROMPT_EN,
  KEYPRESS_PROMPT_ZH,
  segmentsOf,
  signatureOf,
  spokenMarked,
  tagOf,
} from './common';
import {
  enDateTime,
  enShortTime,
  WarningFacts,
  warningFacts,
  zhDateTime,
  zhShortTime,
} from './format';
import type {
  EscalationContext,
  EscalationMessage,
  GroupRuleFigures,
  TemplateTable,
  UnansweredPerson,
} from './types';
import { ttsClean } from './voice';

const SMS_PEOPLE = 10;
const TEXT_PEOPLE = 50;
const VOICE_PEOPLE = 5;

function personZh(p: UnansweredPerson, f: WarningFacts, withPhone: boolean): string {
  const details = [
    p.place,
    withPhone ? p.phone : undefined,
    p.attempts ? `已呼叫${p.attempts}次` : undefined,
    p.lastAttemptAt ? `最近一次${zhShortTime(p.lastAttemptAt, f.w.sentAt)}` : undefined,
  ].filter(Boolean);
  return `${p.role ?? ''}${p.name}（${details.join('，')}）`;
}

function personEn(p: UnansweredPerson, f: WarningFacts, withPhone: boolean): string {
  const details = [
    p.place,
    withPhone ? p.phone : undefined,
    p.attempts ? `called ${p.attempts} times` : undefined,
    p.lastAttemptAt ? `last at ${enShortTime(p.lastAttemptAt, f.w.sentAt)}` : undefined,
  ].filter(Boolean);
  return `${p.name}${p.role ? `, ${p.role}` : ''} (${details.join(', ')})`;
}

function subjectZh(f: WarningFacts): string {
  const at = zhDateTime(f.w.sentAt, { year: false });
  if (f.dropped) return `${f.dropped.title}范围调整通知（${at}）`;
  return f.w.msgType === 'cancel' ? `${f.title}解除通知（${at}）` : `${f.title}（${at}发布）`;
}

/**
 * A section of a notice: why its people are reported. `group_short` is a grid the group rule
 * reported although some of its responsible persons confirmed (too few for its rule).
 */
type Reason = NonNullable<UnansweredPerson['reason']> | 'group_short';
/** Sections of a notice, most urgent first. */
const REASONS: readonly Reason[] = ['help_requested', 'not_woken', 'group_silent', 'group_short'];

function reasonOf(p: UnansweredPerson): Reason {
  const reason = p.reason ?? 'not_woken';
  return reason === 'group_silent' && p.group && p.group.confirmed > 0 ? 'group_short' : reason;
}

function sections(people: UnansweredPerson[]): { reason: Reason; people: UnansweredPerson[] }[] {
  return REASONS.map((reason) => ({
    reason,
    people: people.filter((p) => reasonOf(p) === reason),
  })).filter((s) => s.people.length > 0);
}

/** Grids are counted as grids, people as people. */
const isGrid = (reason: Reason) => reason === 'group_silent' || reason === 'group_short';

/** Names of those who have not confirmed, up to this many in a notice. */
const UNCONFIRMED_NAMES = 5;

function requirementZh(g: GroupRuleFigures): string {
  return g.rule === 'all' ? '要求全部确认' : `要求至少${g.required}人确认`;
}

function unconfirmedZh(g: GroupRuleFigures, sep: string): string {
  const names = g.unconfirmed.slice(0, UNCONFIRMED_NAMES).join(sep);
  return g.unconfirmed.length > UNCONFIRMED_NAMES ? `${names}等${g.unconfirmed.length}人` : names;
}

/** `渔子溪村第1网格3名责任人中仅1人确认收到（要求全部确认），未确认：李网格、周监测` */
function shortZh(p: UnansweredPerson): string {
  const g = p.group as GroupRuleFigures;
  return (
    `${p.place}${g.total}名责任人中仅${g.confirmed}人确认收到（${requirementZh(g)}）` +
    (g.unconfirmed.length ? `，未确认：${unconfirmedZh(g, '、')}` : '')
  );
}

function shortSpokenZh(p: UnansweredPerson): string {
  const g = p.group as GroupRuleFigures;
  return (
    `${p.place}${g.total}名责任人中仅${g.confirmed}人确认收到，${requirementZh(g)}` +
    (g.unconfirmed.length ? `，未确认的有${unconfirmedZh(g, '、')}` : '')
  );
}

function requirementEn(g: GroupRuleFigures): string {
  return g.rule === 'all' ? 'all must confirm' : `at least ${g.required} must confirm`;
}

function unconfirmedEn(g: GroupRuleFigures): string {
  const names = g.unconfirmed.slice(0, UNCONFIRMED_NAMES).join(', ');
  return g.unconfirmed.length > UNCONFIRMED_NAMES
    ? `${names} and ${g.unconfirmed.length - UNCONFIRMED_NAMES} more`
    : names;
}

/** `Grid 1: only 1 of 3 responsible persons confirmed (all must confirm); not confirmed: Li, Zhou` */
function shortEn(p: UnansweredPerson): string {
  const g = p.group as GroupRuleFigures;
  return (
    `${p.place}: only ${g.confirmed} of ${g.total} responsible persons confirmed (${requirementEn(g)})` +
    (g.unconfirmed.length ? `; not confirmed: ${unconfirmedEn(g)}` : '')
  );
}

function shortSpokenEn(p: UnansweredPerson): string {
  const g = p.group as GroupRuleFigures;
  return (
    `${p.place}, only ${g.confirmed} of ${g.total} responsible persons confirmed, ${requirementEn(g)}` +
    (g.unconfirmed.length ? `, not confirmed: ${unconfirmedEn(g)}` : '')
  );
}

const ZH: Record<Reason, { head: (n: number) => string; ask: string; voice: string }> = {
  help_requested: {
    head: (n) => `下列${n}人请求支援：`,
    ask: '请立即与其联系，组织支援。',
    voice: '请求支援',
  },
  not_woken: {
    head: (n) => `下列${n}名责任人未应答：`,
    ask: '请立即督促联系，必要时安排人员上门敲门叫应。',
    voice: '未应答，已多次呼叫',
  },
  group_silent: {
    head: (n) => `下列${n}个网格无责任人确认收到：`,
    ask: '请立即督促网格责任人确认，并组织巡查。',
    voice: '无责任人确认收到',
  },
  group_short: {
    head: (n) => `下列${n}个网格确认人数未达要求：`,
    ask: '请立即督促未确认的责任人确认，并组织巡查。',
    voice: '',
  },
};

function renderZh(ctx: EscalationContext): EscalationMessage {
  const f = warningFacts(ctx);
  const sup = ctx.supervisor?.name ? `${ctx.supervisor.role ?? ''}${ctx.supervisor.name}，` : '';
  const cancelAsk = '请督促确认。';
  const who = (p: UnansweredPerson, reason: Reason, withPhone: boolean) =>
    reason === 'group_short'
      ? shortZh(p)
      : reason === 'group_silent'
        ? p.place
        : personZh(p, f, withPhone && reason !== 'help_requested');
  const list = (
    people: UnansweredPerson[],
    reason: Reason,
    max: number,
    withPhone: boolean,
    sep: string,
  ) =>
    people
      .slice(0, max)
      .map((p, i) => `${i + 1}.${who(p, reason, withPhone)}`)
      .join(sep) +
    (people.length > max
      ? `${sep === '\n' ? '\n' : ''}等${people.length}${isGrid(reason) ? '个网格' : '人'}，详见值班系统${reason === 'not_woken' ? '未叫醒名单' : ''}`
      : '');
  const parts = sections(ctx.unanswered);
  const ask = (reason: Reason) => (f.w.msgType === 'cancel' ? cancelAsk : ZH[reason].ask);
  const sms =
    `${signatureOf(f)}${tagOf(f)}${sup}叫应升级：${subjectZh(f)}，` +
    parts
      .map(
        (s) =>
          `${ZH[s.reason].head(s.people.length)}${list(s.people, s.reason, SMS_PEOPLE, true, '；')}。${ask(s.reason)}`,
      )
      .join('') +
    `收到请回复${f.confirmKey}。`;
  const text = [
    `${tagOf(f)}叫应升级：${subjectZh(f)}`,
    ...parts.flatMap((s) => [
      ZH[s.reason].head(s.people.length),
      list(s.people, s.reason, TEXT_PEOPLE, true, '\n'),
      ask(s.reason),
    ]),
    `预警编号：${f.w.nationalId}`,
  ].join('\n');
  const spoken = parts
    .map((s) => {
      const more =
        s.people.length > VOICE_PEOPLE
          ? `等${s.people.length}${isGrid(s.reason) ? '个网格' : '人'}`
          : '';
      if (s.reason === 'group_short') {
        const grids = s.people.slice(0, VOICE_PEOPLE).map(shortSpokenZh).join('；');
        return `${grids}${more ? `；${more}确认人数未达要求` : ''}。${ask(s.reason)}`;
      }
      const names = s.people
        .slice(0, VOICE_PEOPLE)
        .map((p) => (s.reason === 'group_silent' ? p.place : `${p.place}${p.role ?? ''}${p.name}`))
        .join('、');
      return `${names}${more}${ZH[s.reason].voice}。${ask(s.reason)}`;
    })
    .join('');
  const voice = ttsClean(
    spokenMarked(
      f,
      `这里是${f.signature}叫应升级电话。${ctx.supervisor?.name ? `${ctx.supervisor.name}您好。` : '您好。'}` +
        `${subjectZh(f)}，${spoken}`,
    ) + KEYPRESS_PROMPT_ZH,
    'zh-CN',
  );
  return { sms, segments: segmentsOf(sms), text, voice };
}

const EN: Record<Reason, { head: (n: number) => string; ask: string; voice: string }> = {
  help_requested: {
    head: (n) => `${n} ${n === 1 ? 'person asks' : 'people ask'} for help`,
    ask: 'Please contact them now and organise support.',
    voice: 'asked for help',
  },
  not_woken: {
    head: (n) => `${n} responsible ${n === 1 ? 'person has' : 'people have'} not answered`,
    ask: 'Please reach them now and send someone to their door if needed.',
    voice: 'did not answer',
  },
  group_silent: {
    head: (n) => `in ${n} ${n === 1 ? 'grid' : 'grids'} no responsible person has confirmed`,
    ask: 'Please make the grid’s responsible persons confirm and organise patrols.',
    voice: 'no responsible person has confirmed',
  },
  group_short: {
    head: (n) =>
      `in ${n} ${n === 1 ? 'grid' : 'grids'} fewer responsible persons have confirmed than required`,
    ask: 'Please make those who have not confirmed confirm now and organise patrols.',
    voice: '',
  },
};

function renderEn(ctx: EscalationContext): EscalationMessage {
  const f = warningFacts(ctx);
  const sup = ctx.supervisor?.name ? `${ctx.supervisor.name}, ` : '';
  const what = f.dropped
    ? `the change of the area of the ${f.dropped.title}`
    : f.w.msgType === 'cancel'
      ? `the cancellation of the ${f.title}`
      : `the ${f.title} issued at ${enDateTime(f.w.sentAt, { year: false })}`;
  const who = (p: UnansweredPerson, reason: Reason, withPhone: boolean) =>
    reason === 'group_short'
      ? shortEn(p)
      : reason === 'group_silent'
        ? p.place
        : personEn(p, f, withPhone && reason !== 'help_requested');
  const list = (
    people: UnansweredPerson[],
    reason: Reason,
    max: number,
    withPhone: boolean,
    sep: string,
  ) =>
    people
      .slice(0, max)
      .map((p, i) => `${i + 1}. ${who(p, reason, withPhone)}`)
      .join(sep) +
    (people.length > max ? `${sep}and ${people.length - max} more (see the duty console)` : '');
  const ask = (reason: Reason) =>
    f.w.msgType === 'cancel' ? 'Please make sure they confirm.' : EN[reason].ask;
  const parts = sections(ctx.unanswered);
  const sms =
    `${signatureOf(f)}${tagOf(f)}${sup ? `${sup}escalation` : 'Escalation'} on ${what}: ` +
    parts
      .map(
        (s) =>
          `${EN[s.reason].head(s.people.length)}: ${list(s.people, s.reason, SMS_PEOPLE, true, '; ')}. ${ask(s.reason)} `,
      )
      .join('') +
    `Reply ${f.confirmKey} to confirm.`;
  const text = [
    `${tagOf(f)}Escalation: ${what}`,
    ...parts.flatMap((s) => [
      `${EN[s.reason].head(s.people.length)}:`,
      list(s.people, s.reason, TEXT_PEOPLE, true, '\n'),
      ask(s.reason),
    ]),
    `Warning id: ${f.w.nationalId}`,
  ].join('\n');
  const spoken = parts
    .map((s) => {
      const more =
        s.people.length > VOICE_PEOPLE ? ` and ${s.people.length - VOICE_PEOPLE} more` : '';
      if (s.reason === 'group_short') {
        const grids = s.people.slice(0, VOICE_PEOPLE).map(shortSpokenEn).join('; ');
        return `${grids}${more ? `; ${more.trim()} grids short of confirmations` : ''}. ${ask(s.reason)} `;
      }
      const names = s.people
        .slice(0, VOICE_PEOPLE)
        .map((p) => (s.reason === 'group_silent' ? p.place : `${p.name} at ${p.place}`))
        .join(', ');
      return `${names}${more}: ${EN[s.reason].voice}. ${ask(s.reason)} `;
    })
    .join('');
  const voice = ttsClean(
    spokenMarked(
      f,
      `This is the ${f.signature} escalation line. ${ctx.supervisor?.name ? `Hello ${ctx.supervisor.name}. ` : ''}` +
        `About ${what}: ${spoken}`,
    ) +
      ' ' +
      KEYPRESS_PROMPT_EN,
    'en',
  );
  return { sms, segments: segmentsOf(sms), text, voice };
}

export const escalationTemplates: TemplateTable<EscalationContext, EscalationMessage> = {
  'zh-CN': {
    imminent: { alert: renderZh, update: renderZh, cancel: renderZh },
    meteorological_risk: { alert: renderZh, update: renderZh, cancel: renderZh },
  },
  en: {
    imminent: { alert: renderEn, update: renderEn, cancel: renderEn },
    meteorological_risk: { alert: renderEn, update: renderEn, cancel: renderEn },
  },
};
