import type { AnswerKind } from './answers.service';

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
