/**
 * The SMS answered back to a person's SMS reply (TwiML <Message>): the thank-you for a
 * confirmation, the acknowledgement of a request for help, the clarifying reply, and the answers to
 * task and notice replies. One segment each (≤ 70 characters with the signature) wherever the
 * headline allows; a drill or a test is marked right after the signature, as every other SMS.
 */
import type { WarningStatus } from '../common/domain/warning.types';
import { cut } from './format';
import { statusMark } from './policy';
import type { Locale } from './types';

/** Headline length quoted in a reply, so that the reply stays within one segment. */
const HEADLINE_MAX = 16;

export type SmsReplyKind =
  /** 1 / 收到 to a warning. */
  | 'confirmed'
  /** 2 to a warning, a task or a notice. */
  | 'help'
  /** Not understood: what to answer. */
  | 'clarify'
  /** Not understood again and again (an auto-responder): a plain acknowledgement, no question. */
  | 'received'
  /** A reply from a number with nothing open to answer. */
  | 'nothing_open'
  /** 1 to a notice about someone else. */
  | 'notice_acknowledged'
  | 'notice_clarify'
  /** An explicit "done" to a task. */
  | 'task_done'
  /** "Done" for a task that was already closed. */
  | 'task_closed'
  /** 收到 / OK to a task: acknowledged, not done. */
  | 'task_acknowledged'
  | 'task_clarify'
  /** "Done" without a number while several tasks are open. */
  | 'task_which';

export interface SmsReplyContext {
  signature: string;
  /** The status of the warning replied about (a drill or test is marked). */
  status?: WarningStatus;
  locale?: Locale;
  /** The warning's headline (confirmed, clarify). */
  headline?: string;
  /** The task's name and number (task replies). */
  task?: { title: string; number: number };
  /** The open tasks' numbers (task_which). */
  openTasks?: number[];
}

const ZH: Record<SmsReplyKind, (c: SmsReplyContext) => string> = {
  confirmed: (c) =>
    `已确认收到“${cut(c.headline ?? '', HEADLINE_MAX)}”，谢谢！请按预警要求做好防范。`,
  help: () => '已收到您的支援请求，值班人员将尽快与您联系，请保持电话畅通，注意安全。',
  clarify: (c) =>
    `未能识别您的回复。关于“${cut(c.headline ?? '', HEADLINE_MAX)}”：回复1确认收到，回复2请求支援。`,
  received: () => '已收到您的短信，谢谢。',
  nothing_open: () => '您好，已收到您的短信。目前没有需要您确认的预警，谢谢。',
  notice_acknowledged: () => '已收到您的确认，叫应升级已记录，请尽快处置，谢谢。',
  notice_clarify: () => '未能识别您的回复。关于叫应升级通知：回复1确认收到，回复2请求支援。',
  task_done: (c) => `已记录“${taskName(c)}”完成，谢谢！请注意自身安全。`,
  task_closed: (c) => `“${taskName(c)}”已结束，无需再处理，谢谢。`,
  task_acknowledged: (c) =>
    `已收到。“${taskName(c)}”完成后请回复“1 ${c.task?.number}”，需要支援回复“2 ${c.task?.number}”。`,
  task_clarify: (c) =>
    `未能识别您的回复。关于“${taskName(c)}”：完成后回复“1 ${c.task?.number}”，需要支援回复“2 ${c.task?.number}”。`,
  task_which: (c) =>
    `您有${c.openTasks?.length ?? 0}个未完成的任务（任务号${[...(c.openTasks ?? [])]
      .sort((a, b) => a - b)
      .join('、')}），请回复“1 任务号”确认完成，或“2 任务号”请求支援。`,
};

const EN: Record<SmsReplyKind, (c: SmsReplyContext) => string> = {
  confirmed: (c) => `Confirmed: "${cut(c.headline ?? '', HEADLINE_MAX)}". Thank you, stay safe.`,
  help: () =>
    'Your request for help is received. The duty office will call you; keep your phone on.',
  clarify: (c) =>
    `Reply not understood. About "${cut(c.headline ?? '', HEADLINE_MAX)}": reply 1 to confirm, 2 for help.`,
  received: () => 'Your message is received, thank you.',
  nothing_open: () => 'Your message is received. There is no warning for you to confirm now.',
  notice_acknowledged: () => 'Your confirmation of the escalation is recorded. Please act now.',
  notice_clarify: () =>
    'Reply not understood. About the escalation: reply 1 to confirm, 2 for help.',
  task_done: (c) => `Recorded: ${taskNameEn(c)} done. Thank you, stay safe.`,
  task_closed: (c) => `${taskNameEn(c)} is already closed; nothing more to do. Thank you.`,
  task_acknowledged: (c) =>
    `Received. When ${taskNameEn(c)} is done reply "1 ${c.task?.number}", for help "2 ${c.task?.number}".`,
  task_clarify: (c) =>
    `Reply not understood. ${taskNameEn(c)}: when done reply "1 ${c.task?.number}", for help "2 ${c.task?.number}".`,
  task_which: (c) =>
    `You have ${c.openTasks?.length ?? 0} open tasks (no. ${[...(c.openTasks ?? [])]
      .sort((a, b) => a - b)
      .join(', ')}): reply "1 <no.>" when one is done, "2 <no.>" for help.`,
};

function taskName(c: SmsReplyContext): string {
  return c.task ? `${c.task.title}（任务号${c.task.number}）` : '任务';
}

function taskNameEn(c: SmsReplyContext): string {
  return c.task ? `task no. ${c.task.number}` : 'the task';
}

/** The SMS answered to a reply: 【signature】, the drill / test mark, the text. */
export function renderSmsReply(kind: SmsReplyKind, c: SmsReplyContext): string {
  const locale = c.locale ?? 'zh-CN';
  const tag = c.status ? (statusMark(c.status, locale)?.tag ?? '') : '';
  // '[DRILL] Confirmed' in English, '【演练】已确认' in Chinese.
  const mark = tag && locale === 'en' ? `${tag} ` : tag;
  const text = (locale === 'en' ? EN : ZH)[kind](c);
  return `【${c.signature}】${mark}${text}`;
}

export const SMS_REPLY_KINDS: readonly SmsReplyKind[] = [
  'confirmed',
  'help',
  'clarify',
  'received',
  'nothing_open',
  'notice_acknowledged',
  'notice_clarify',
  'task_done',
  'task_closed',
  'task_acknowledged',
  'task_clarify',
  'task_which',
];
