/**
 * Escalation to a supervisor (上级责任人 / duty officer): who did not answer, in which role and
 * where, how often they were called, and what to do. Three renderings: an SMS (people beyond ten
 * summarised as 等N人), a plain text for robots / e-mail (up to 50 people), and a call script that
 * ends with the keypress prompt (up to five names, no phone numbers read out).
 */
import { KEYPRESS_PROMPT_EN, KEYPRESS_PROMPT_ZH, segmentsOf, signatureOf } from './common';
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
  return f.w.msgType === 'cancel' ? `${f.title}解除通知（${at}）` : `${f.title}（${at}发布）`;
}

function renderZh(ctx: EscalationContext): EscalationMessage {
  const f = warningFacts(ctx);
  const people = ctx.unanswered;
  const sup = ctx.supervisor?.name ? `${ctx.supervisor.role ?? ''}${ctx.supervisor.name}，` : '';
  const n = people.length;
  const list = (max: number, withPhone: boolean, sep: string, numbered: boolean): string =>
    people
      .slice(0, max)
      .map((p, i) => `${numbered ? `${i + 1}.` : ''}${personZh(p, f, withPhone)}`)
      .join(sep) + (n > max ? `${sep === '\n' ? '\n' : ''}等${n}人，详见值班系统未叫醒名单` : '');
  const ask =
    f.w.msgType === 'cancel' ? '请督促确认。' : '请立即督促联系，必要时安排人员上门敲门叫应。';
  const sms =
    `${signatureOf(f)}${sup}叫应升级：${subjectZh(f)}，下列${n}名责任人未应答：` +
    `${list(SMS_PEOPLE, true, '；', true)}。${ask}收到请回复${f.confirmKey}。`;
  const text = [
    `叫应升级：${subjectZh(f)}`,
    `未应答责任人${n}名：`,
    list(TEXT_PEOPLE, true, '\n', true),
    ask,
    `预警编号：${f.w.nationalId}`,
  ].join('\n');
  const names = people
    .slice(0, VOICE_PEOPLE)
    .map((p) => `${p.place}${p.role ?? ''}${p.name}`)
    .join('、');
  const voice = ttsClean(
    `这里是${f.signature}叫应升级电话。${ctx.supervisor?.name ? `${ctx.supervisor.name}您好。` : '您好。'}` +
      `${subjectZh(f)}，${names}${n > VOICE_PEOPLE ? `等${n}人` : ''}未应答，已多次呼叫。${ask}` +
      KEYPRESS_PROMPT_ZH,
    'zh-CN',
  );
  return { sms, segments: segmentsOf(sms), text, voice };
}

function renderEn(ctx: EscalationContext): EscalationMessage {
  const f = warningFacts(ctx);
  const people = ctx.unanswered;
  const n = people.length;
  const sup = ctx.supervisor?.name ? `${ctx.supervisor.name}, ` : '';
  const what =
    f.w.msgType === 'cancel'
      ? `the cancellation of the ${f.title}`
      : `the ${f.title} issued at ${enDateTime(f.w.sentAt, { year: false })}`;
  const list = (max: number, withPhone: boolean, sep: string): string =>
    people
      .slice(0, max)
      .map((p, i) => `${i + 1}. ${personEn(p, f, withPhone)}`)
      .join(sep) + (n > max ? `${sep}and ${n - max} more (see the not-woken list)` : '');
  const ask =
    f.w.msgType === 'cancel'
      ? 'Please make sure they confirm.'
      : 'Please reach them now and send someone to their door if needed.';
  const sms =
    `${signatureOf(f)}${sup ? `${sup}escalation` : 'Escalation'}: ${n} responsible ${n === 1 ? 'person has' : 'people have'} not answered ${what}: ` +
    `${list(SMS_PEOPLE, true, '; ')}. ${ask} Reply ${f.confirmKey} to confirm.`;
  const text = [
    `Escalation: ${what}`,
    `${n} responsible ${n === 1 ? 'person has' : 'people have'} not answered:`,
    list(TEXT_PEOPLE, true, '\n'),
    ask,
    `Warning id: ${f.w.nationalId}`,
  ].join('\n');
  const names = people
    .slice(0, VOICE_PEOPLE)
    .map((p) => `${p.name} at ${p.place}`)
    .join(', ');
  const voice = ttsClean(
    `This is the ${f.signature} escalation line. ${ctx.supervisor?.name ? `Hello ${ctx.supervisor.name}. ` : ''}` +
      `${names}${n > VOICE_PEOPLE ? ` and ${n - VOICE_PEOPLE} more` : ''} did not answer ${what}. ${ask} ` +
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
