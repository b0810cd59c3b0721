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

type Reason = NonNullable<UnansweredPerson['reason']>;
/** Sections of a notice, most urgent first. */
const REASONS: readonly Reason[] = ['help_requested', 'not_woken', 'group_silent'];

function sections(people: UnansweredPerson[]): { reason: Reason; people: UnansweredPerson[] }[] {
  return REASONS.map((reason) => ({
    reason,
    people: people.filter((p) => (p.reason ?? 'not_woken') === reason),
  })).filter((s) => s.people.length > 0);
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
};

function renderZh(ctx: EscalationContext): EscalationMessage {
  const f = warningFacts(ctx);
  const sup = ctx.supervisor?.name ? `${ctx.supervisor.role ?? ''}${ctx.supervisor.name}，` : '';
  const cancelAsk = '请督促确认。';
  const who = (p: UnansweredPerson, reason: Reason, withPhone: boolean) =>
    reason === 'group_silent' ? p.place : personZh(p, f, withPhone && reason !== 'help_requested');
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
      ? `${sep === '\n' ? '\n' : ''}等${people.length}${reason === 'group_silent' ? '个网格' : '人'}，详见值班系统${reason === 'not_woken' ? '未叫醒名单' : ''}`
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
      const names = s.people
        .slice(0, VOICE_PEOPLE)
        .map((p) => (s.reason === 'group_silent' ? p.place : `${p.place}${p.role ?? ''}${p.name}`))
        .join('、');
      const more =
        s.people.length > VOICE_PEOPLE
          ? `等${s.people.length}${s.reason === 'group_silent' ? '个网格' : '人'}`
          : '';
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
    reason === 'group_silent' ? p.place : personEn(p, f, withPhone && reason !== 'help_requested');
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
      const names = s.people
        .slice(0, VOICE_PEOPLE)
        .map((p) => (s.reason === 'group_silent' ? p.place : `${p.name} at ${p.place}`))
        .join(', ');
      const more =
        s.people.length > VOICE_PEOPLE ? ` and ${s.people.length - VOICE_PEOPLE} more` : '';
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
