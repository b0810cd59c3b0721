import type { AnswerKind } from '../chain/answers.service';

/** Replies that confirm receipt (after normalisation: NFKC, lower case, trimmed). */
const CONFIRM_REPLIES: ReadonlySet<string> = new Set(['1', '收到', '确认', 'ok']);
/** Replies that ask for help. */
const HELP_REPLIES: ReadonlySet<string> = new Set(['2']);

/** Spaces, punctuation and symbols around the reply (。！!.，~ 、emoji …). */
const EDGES = /^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu;

/**
 * The reply as compared: NFKC (full-width １ＯＫ → 1OK, ideographic space → space), lower case,
 * without the spaces and punctuation around it.
 */
export function normaliseSmsReply(body: string): string {
  return body.normalize('NFKC').toLowerCase().replace(EDGES, '');
}

/**
 * What an SMS reply to a warning means: `1`, `收到`, `确认`, `OK` confirm; `2` asks for help;
 * anything else (including an empty reply) is ambiguous and gets a clarifying SMS.
 */
export function parseSmsReply(body: string): AnswerKind {
  const text = normaliseSmsReply(body);
  if (CONFIRM_REPLIES.has(text)) return 'confirm';
  if (HELP_REPLIES.has(text)) return 'help';
  return 'ambiguous';
}

/** What a grid member's reply to a task SMS asks: done, support, only "got it", or unclear. */
export interface TaskReply {
  action: 'complete' | 'help' | 'ack' | 'unclear';
  /** The task number named in the reply (`1 23`), when one was. */
  number?: number;
}

/** `1 23`, `1#23`, `完成 23`, `2 23` (and the same without a number). */
const TASK_ANSWER = /^(1|2|完成|已完成|done|支援)[\s#＃号:：,，、.-]*(\d{1,9})?$/u;
/** "Got it": the member is awake and has the task, which is not done yet. */
const TASK_ACK: ReadonlySet<string> = new Set(['收到', '确认', 'ok', '好', '好的', '明白']);

/**
 * A reply to a task SMS. Only an explicit completion (`1`, `完成`) completes a task; `收到` and
 * the like acknowledge it (the task stays open); `2` asks for support.
 */
export function parseTaskReply(body: string): TaskReply {
  const text = normaliseSmsReply(body);
  if (TASK_ACK.has(text)) return { action: 'ack' };
  const m = TASK_ANSWER.exec(text);
  if (!m) return { action: 'unclear' };
  const action = m[1] === '2' || m[1] === '支援' ? 'help' : 'complete';
  return m[2] ? { action, number: Number(m[2]) } : { action };
}
