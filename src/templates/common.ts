/** Small pieces shared by several channel templates. */
import { parseNationalId } from '../common/domain/national-id';
import type { WarningContent } from '../common/domain/warning.types';
import { enDateTime, WarningFacts, zhDateTime } from './format';
import { analyzeSms } from './sms-segments';

/** The issue time of the warning an update/cancel refers to, read from its national id. */
export function referencedIssueTime(w: WarningContent): Date | undefined {
  const ref = w.references[w.references.length - 1];
  if (!ref) return undefined;
  try {
    return parseNationalId(ref).sentAt;
  } catch {
    return undefined;
  }
}

/** 汶川县自然资源局于7月10日20时30分发布的 / "issued by … at …". */
export function referencedPhrase(f: WarningFacts): string {
  const at = referencedIssueTime(f.w);
  if (f.locale === 'en') return `issued by ${f.issuer}${at ? ` at ${enDateTime(at)}` : ''}`;
  return `${f.issuer}${at ? `于${zhDateTime(at, { year: false })}` : ''}发布的`;
}

export const signatureOf = (f: WarningFacts): string => `【${f.signature}】`;

export const segmentsOf = (text: string): number => analyzeSms(text, { unit: 'utf16' }).segments;

/** Greeting for personal messages: 网格长张三： / "Zhang San (grid leader): ". */
export function greeting(f: WarningFacts): string {
  if (!f.recipientName) return '';
  const role = f.recipientRole;
  if (f.locale === 'en') return `${f.recipientName}${role ? ` (${role})` : ''}: `;
  return `${role ?? ''}${f.recipientName}：`;
}

/** Keypress prompt every call script ends with. */
export const KEYPRESS_PROMPT_ZH = '按1确认收到，按2请求支援';
export const KEYPRESS_PROMPT_EN = 'Press 1 to confirm receipt, press 2 to request assistance';

/**
 * The drill / test mark that leads every written text ('【演练】', '[DRILL] '), or ''. In an SMS
 * it comes right after the carrier signature: carriers read the first 【…】 of a message as its
 * signature, so the signature must come first and the mark follows it in the same segment.
 */
export function tagOf(f: WarningFacts): string {
  if (!f.mark) return '';
  return f.locale === 'en' ? `${f.mark.tag} ` : f.mark.tag;
}

/** A spoken text said between the drill / test announcement ('这是一次演练。'), when marked. */
export function spokenMarked(f: WarningFacts, text: string): string {
  if (!f.mark) return text;
  const sep = f.locale === 'en' ? ' ' : '';
  return `${f.mark.spoken}${sep}${text.trim()}${sep}${f.mark.spoken}`;
}

/**
 * A release after an update: 您所在的隆湾社区已不在地质灾害气象风险橙色预警范围内。 Says that the
 * recipient's area left the warning, never that the warning ended. `personal` addresses the
 * reader (您所在的); group channels name the places only.
 */
export function droppedSentence(f: WarningFacts, personal: boolean): string {
  const d = f.dropped;
  if (!d) return '';
  // No place: the area is still under the warning, but the update no longer addresses the
  // recipient (their role left its audience).
  if (!d.places.length) {
    return f.locale === 'en'
      ? `After an update, you are no longer among the recipients of the ${d.title}.`
      : `根据预警调整，您已不在${d.title}的通知对象之列。`;
  }
  if (f.locale === 'en') {
    const where = personal ? `Your area (${d.placeList})` : d.placeList;
    return `${where} is no longer within the ${d.title}.`;
  }
  return `${personal ? '您所在的' : ''}${d.placeList}已不在${d.title}范围内。`;
}
