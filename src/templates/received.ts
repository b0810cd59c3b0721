/**
 * What a person is answered when their answer (keypress, SMS reply, confirmation link) reached the
 * gateway while its database could not be reached, or (a keypress) was not recorded within the
 * acknowledgement deadline under load. The answer is kept (the inbound spool) and
 * recorded, with the time it was received, once the database is back; so these texts say it was
 * **received**, never that it was recorded or that anything was done with it yet. Which warning it
 * answers is not known at that moment: the texts name none (no headline, hence no drill or test
 * mark, which belongs to a warning), and are one SMS segment each with the signature.
 */
import type { Locale } from './types';

/** What the person answered, as far as the text alone tells (1 / 收到… confirm, 2 help). */
export type ReceivedKind = 'confirm' | 'help' | 'other';
export const RECEIVED_KINDS: readonly ReceivedKind[] = ['confirm', 'help', 'other'];

const SMS: Record<Locale, Record<ReceivedKind, string>> = {
  'zh-CN': {
    confirm: '已收到您的确认回复，谢谢！请按预警要求做好防范。',
    help: '已收到您的支援请求，将尽快转告值班人员，请保持电话畅通，注意安全。',
    other: '已收到您的短信，谢谢。',
  },
  en: {
    confirm: 'Your confirmation is received. Thank you, stay safe.',
    help: 'Request for help received; the duty office will be told.',
    other: 'Your message is received, thank you.',
  },
};

/** Said on the call after key 1 or 2, then the call hangs up (any other key: nothing is said). */
const VOICE: Record<Locale, Record<Exclude<ReceivedKind, 'other'>, string>> = {
  'zh-CN': {
    confirm: '已收到您的确认，谢谢。请按预警要求做好防范。',
    help: '已收到您的支援请求，将尽快转告值班人员，请保持电话畅通，注意自身安全。',
  },
  en: {
    confirm: 'Your confirmation is received. Thank you. Please follow the warning’s instructions.',
    help: 'Your request for assistance is received and will be passed to the duty officer. Keep your phone on and stay safe.',
  },
};

/** The note of the page after a confirmation link's button (Chinese first, English below). */
const LINK: Record<Exclude<ReceivedKind, 'other'>, { zh: string; en: string }> = {
  confirm: {
    zh: '已收到您的确认，谢谢！请按预警要求做好防范。',
    en: 'Your confirmation is received. Thank you; please follow the warning’s instructions.',
  },
  help: {
    zh: '已收到您的支援请求，将尽快转告值班人员，请保持电话畅通，注意安全。',
    en: 'Your request for help is received and will be passed to the duty officer. Keep your phone on and stay safe.',
  },
};

/** The SMS answered to a reply received while the database is unreachable: 【signature】text. */
export function renderReceivedSms(
  kind: ReceivedKind,
  c: { signature: string; locale?: Locale },
): string {
  return `【${c.signature}】${SMS[c.locale ?? 'zh-CN'][kind]}`;
}

/** What the call says after a key received while the database is unreachable ('' for another key). */
export function renderReceivedVoice(kind: ReceivedKind, locale: Locale = 'zh-CN'): string {
  return kind === 'other' ? '' : VOICE[locale][kind];
}

/** The confirmation page's note after a button pressed while the database is unreachable. */
export function renderReceivedLink(kind: 'confirm' | 'help'): { zh: string; en: string } {
  return LINK[kind];
}

/** Every text above, for the message catalogue (docs/messages.md). */
export function receivedCatalogue(signature: { zh: string; en: string }): {
  locale: Locale;
  title: string;
  text: string;
  sms: boolean;
}[] {
  const out: { locale: Locale; title: string; text: string; sms: boolean }[] = [];
  for (const locale of ['zh-CN', 'en'] as const) {
    const sig = locale === 'en' ? signature.en : signature.zh;
    for (const kind of RECEIVED_KINDS)
      out.push({
        locale,
        title: `短信（回复：${kind}） · SMS answered to a reply (${kind})`,
        text: renderReceivedSms(kind, { signature: sig, locale }),
        sms: true,
      });
    for (const kind of ['confirm', 'help'] as const)
      out.push({
        locale,
        title: `语音（按键：${kind}） · Said on the call after the key (${kind})`,
        text: renderReceivedVoice(kind, locale),
        sms: false,
      });
    for (const kind of ['confirm', 'help'] as const)
      out.push({
        locale,
        title: `确认链接页面（${kind}） · Confirmation link page (${kind})`,
        text: locale === 'en' ? LINK[kind].en : LINK[kind].zh,
        sms: false,
      });
  }
  return out;
}
