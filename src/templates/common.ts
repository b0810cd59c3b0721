/** Small pieces shared by several channel templates. */
import { parseNationalId } from '../modules/warnings/national-id';
import type { WarningContent } from '../modules/warnings/warning.types';
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
