/**
 * Voice (智能外呼) TTS scripts. The Chinese script is read by the call and always ends with the
 * keypress prompt "按1确认收到，按2请求支援" (hanging up before the end is not an answer, so the
 * script stays short: place lists are capped at six names, the description and instruction are
 * cut at sentence boundaries). Times are Beijing time written the way TTS reads them (7月10日22时),
 * no URLs or brackets. The essentials are repeated once before the prompt.
 */
import {
  droppedSentence,
  KEYPRESS_PROMPT_EN,
  KEYPRESS_PROMPT_ZH,
  referencedPhrase,
  spokenMarked,
} from './common';
import {
  article,
  freeText,
  leadSentences,
  listPlaces,
  sentence,
  WarningFacts,
  warningFacts,
} from './format';
import { IMMINENT_ACTION, LEVEL_POLICY, NO_SHELTER } from './policy';
import type { TemplateTable, VoiceContext, VoiceScripts } from './types';

const VOICE_PLACES = 6;
const KEYS = { confirm: '1', help: '2' } as const;

/** Removes what TTS reads badly: brackets become pauses, slashes become 或 / or. */
export function ttsClean(text: string, locale: 'zh-CN' | 'en'): string {
  return (
    text
      .replace(/https?:\/\/\S+/g, '')
      .replace(/[【】[\]「」]/g, '')
      .replace(/\//g, locale === 'en' ? ' or ' : '或')
      // A line break ends a sentence: keep it as a full stop, so two lines are not run together.
      .replace(/([^。！？，；：、.!?,;:\s])\s*\n+\s*/gu, locale === 'en' ? '$1. ' : '$1。')
      .replace(/\s*\n+\s*/g, locale === 'en' ? ' ' : '')
      .replace(/ {2,}/g, ' ')
      .trim()
  );
}

/* ---- Chinese ---- */

/**
 * An imminent warning (evacuate now) is urgent at any level, as the loudspeaker's 紧急通知 says;
 * a meteorological risk warning is urgent at red and orange, announced as what it is below.
 */
const isUrgent = (f: WarningFacts): boolean =>
  f.w.kind === 'imminent' || f.w.level === 'red' || f.w.level === 'orange';

/** What the call is about: 紧急预警 / 预警信息 / 预警解除通知 / 预警范围调整通知. */
function subjectZh(f: WarningFacts): string {
  if (f.dropped) return '预警范围调整通知';
  if (f.w.msgType === 'cancel') return '预警解除通知';
  return isUrgent(f) ? '紧急预警' : '预警信息';
}

function openingZh(f: WarningFacts): string {
  const who = f.recipientName ? `${f.recipientRole ?? ''}${f.recipientName}，您好。` : '您好。';
  // 'X预警电话', without doubling a signature that already ends with 预警 (应急预警).
  const line = f.signature.endsWith('预警') ? `${f.signature}电话` : `${f.signature}预警电话`;
  return `${who}这里是${line}，现在播报${subjectZh(f)}。`;
}

function levelSpokenZh(f: WarningFacts): string {
  return `预警等级${f.colour}，${f.rank}。`;
}

/** 7月10日22时 without the year, as TTS reads it. */
const spokenTime = (t: string): string => t.replace(/^\d+年/, '');

function bodyImminentZh(f: WarningFacts): string {
  const places = listPlaces(f.places, 'zh-CN', VOICE_PLACES);
  const when = f.onset ? `预计${spokenTime(f.onset)}前后，` : '随时，';
  const impact = f.impact ? `，${f.impact}` : '';
  const shelter = f.shelter ?? NO_SHELTER['zh-CN'];
  const evacuate = f.instruction.includes(shelter)
    ? ''
    : `${IMMINENT_ACTION['zh-CN']}到${shelter}。`;
  const again = f.onsetShort
    ? `预计${f.onsetShort}前后可能发生${f.hazard}`
    : `随时可能发生${f.hazard}`;
  return (
    `${when}${places}可能发生${f.hazard}${impact}。` +
    sentence(leadSentences(f.instruction, 120), 'zh-CN') +
    evacuate +
    `重复一遍：${f.title}，${listPlaces(f.places, 'zh-CN', 2)}，${again}，` +
    `${IMMINENT_ACTION['zh-CN']}到${shelter}。`
  );
}

function bodyMeteoZh(f: WarningFacts): string {
  const places = listPlaces(f.places, 'zh-CN', VOICE_PLACES);
  return (
    `${f.window}，${places}地质灾害${f.risk}。` +
    sentence(leadSentences(f.description, 80), 'zh-CN') +
    sentence(leadSentences(f.instruction, 120), 'zh-CN') +
    `重复一遍：${f.title}，${listPlaces(f.places, 'zh-CN', 2)}地质灾害${f.risk}，` +
    LEVEL_POLICY[f.w.level].action['zh-CN']
  );
}

function scriptsZh(f: WarningFacts, main: string): VoiceScripts {
  const notice = f.w.msgType === 'cancel';
  const what = f.dropped ? '预警范围调整通知' : notice ? '解除通知' : '预警';
  return {
    script: ttsClean(`${spokenMarked(f, `${openingZh(f)}${main}`)}${KEYPRESS_PROMPT_ZH}`, 'zh-CN'),
    reprompt: `${f.mark?.spoken ?? ''}请按1确认收到${what}，按2请求支援`,
    thanks:
      (f.mark?.spoken ?? '') +
      (f.dropped
        ? '您已确认收到预警范围调整通知，谢谢。'
        : notice
          ? '您已确认收到预警解除通知，谢谢。'
          : `您已确认收到${f.title}，请立即按预案行动，谢谢。`),
    helpAcknowledged: `${f.mark?.spoken ?? ''}已收到您的支援请求，值班人员将尽快与您联系，请保持电话畅通，注意自身安全。`,
    keys: KEYS,
  };
}

const zhAlert =
  (body: (f: WarningFacts) => string) =>
  (ctx: VoiceContext): VoiceScripts => {
    const f = warningFacts(ctx);
    return scriptsZh(
      f,
      `${f.issuer}于${f.issuedAt.replace(/^\d+年/, '')}发布${f.title}，${levelSpokenZh(f)}${body(f)}`,
    );
  };

const zhUpdate =
  (body: (f: WarningFacts) => string) =>
  (ctx: VoiceContext): VoiceScripts => {
    const f = warningFacts(ctx);
    // When the level changed, the change sentence already names the new level.
    const level = f.change?.level === 'same' ? levelSpokenZh(f) : '';
    return scriptsZh(
      f,
      `${f.issuer}更新${f.title}：${sentence(f.change?.text ?? '', 'zh-CN')}${level}${body(f)}`,
    );
  };

function zhCancel(ctx: VoiceContext): VoiceScripts {
  const f = warningFacts(ctx);
  if (f.dropped) {
    return scriptsZh(f, `${droppedSentence(f, true)}${f.instruction}`);
  }
  const places = listPlaces(f.places, 'zh-CN', VOICE_PLACES);
  const main =
    `${referencedPhrase(f)}${f.title}现已解除，涉及${places}。` +
    sentence(leadSentences(f.description, 80), 'zh-CN') +
    sentence(leadSentences(f.instruction, 120), 'zh-CN');
  return scriptsZh(f, main);
}

/* ---- English ---- */

function openingEn(f: WarningFacts): string {
  const who = f.recipientName ? `Hello ${f.recipientName}. ` : 'Hello. ';
  const what = f.dropped
    ? 'a change of the warning area'
    : f.w.msgType === 'cancel'
      ? 'a cancellation notice'
      : isUrgent(f)
        ? 'an urgent warning'
        : 'a warning';
  return `${who}This is the ${f.signature} warning line with ${what}. `;
}

function bodyImminentEn(f: WarningFacts): string {
  const places = listPlaces(f.places, 'en', VOICE_PLACES);
  const when = f.onset ? ` around ${f.onset}` : ' at any time';
  const impact = f.impact ? `, ${f.impact}` : '';
  const shelter = f.shelter ?? NO_SHELTER.en;
  return (
    `${article(f.hazard, true)} is expected${when} at ${places}${impact}. ` +
    sentence(freeText(leadSentences(f.instruction, 200), 'en', 'Measures'), 'en') +
    (f.instruction.includes(shelter) ? '' : ` ${IMMINENT_ACTION.en} to ${shelter}.`) +
    ` Again: ${f.title}, ${listPlaces(f.places, 'en', 2)},` +
    `${f.onsetShort ? ` expected ${f.onsetShort},` : ' any time now,'} ${IMMINENT_ACTION.en.toLowerCase()} to ${shelter}. `
  );
}

function bodyMeteoEn(f: WarningFacts): string {
  const places = listPlaces(f.places, 'en', VOICE_PLACES);
  return (
    `From ${f.window}, the risk of geological hazards at ${places} is ${f.risk}. ` +
    sentence(freeText(leadSentences(f.description, 160), 'en', 'What to watch'), 'en') +
    ' ' +
    sentence(freeText(leadSentences(f.instruction, 200), 'en', 'Measures'), 'en') +
    ` Again: ${f.title}, ${listPlaces(f.places, 'en', 2)}. ${LEVEL_POLICY[f.w.level].action.en} `
  );
}

function scriptsEn(f: WarningFacts, main: string): VoiceScripts {
  const notice = f.w.msgType === 'cancel';
  const mark = f.mark ? `${f.mark.spoken} ` : '';
  return {
    script: ttsClean(`${spokenMarked(f, `${openingEn(f)}${main}`)} ${KEYPRESS_PROMPT_EN}`, 'en'),
    reprompt: `${mark}Press 1 to confirm you received the ${f.dropped ? 'notice' : notice ? 'cancellation' : 'warning'}, press 2 to request assistance`,
    thanks:
      mark +
      (f.dropped
        ? 'You have confirmed the notice. Thank you.'
        : notice
          ? 'You have confirmed the cancellation notice. Thank you.'
          : `You have confirmed the ${f.title}. Please act on your emergency plan now. Thank you.`),
    helpAcknowledged: `${mark}Your request for assistance has been received. The duty officer will call you shortly. Keep your phone on and stay safe.`,
    keys: KEYS,
  };
}

const enAlert =
  (body: (f: WarningFacts) => string) =>
  (ctx: VoiceContext): VoiceScripts => {
    const f = warningFacts(ctx);
    return scriptsEn(
      f,
      `${f.issuer} issued ${article(f.title)}, ${f.level}, at ${f.issuedAt}. ${body(f)}`,
    );
  };

const enUpdate =
  (body: (f: WarningFacts) => string) =>
  (ctx: VoiceContext): VoiceScripts => {
    const f = warningFacts(ctx);
    return scriptsEn(
      f,
      `${f.issuer} updated the ${f.title}. ${sentence(f.change?.text ?? '', 'en')} ${body(f)}`,
    );
  };

function enCancel(ctx: VoiceContext): VoiceScripts {
  const f = warningFacts(ctx);
  if (f.dropped) return scriptsEn(f, `${droppedSentence(f, true)} ${f.instruction} `);
  const main =
    `The ${f.title} ${referencedPhrase(f)} for ${listPlaces(f.places, 'en', VOICE_PLACES)} is cancelled. ` +
    sentence(freeText(leadSentences(f.description, 160), 'en', 'Reason'), 'en') +
    ' ' +
    sentence(freeText(leadSentences(f.instruction, 200), 'en', 'Measures'), 'en') +
    ' ';
  return scriptsEn(f, main);
}

export const voiceTemplates: TemplateTable<VoiceContext, VoiceScripts> = {
  'zh-CN': {
    imminent: {
      alert: zhAlert(bodyImminentZh),
      update: zhUpdate(bodyImminentZh),
      cancel: zhCancel,
    },
    meteorological_risk: {
      alert: zhAlert(bodyMeteoZh),
      update: zhUpdate(bodyMeteoZh),
      cancel: zhCancel,
    },
  },
  en: {
    imminent: {
      alert: enAlert(bodyImminentEn),
      update: enUpdate(bodyImminentEn),
      cancel: enCancel,
    },
    meteorological_risk: {
      alert: enAlert(bodyMeteoEn),
      update: enUpdate(bodyMeteoEn),
      cancel: enCancel,
    },
  },
};
