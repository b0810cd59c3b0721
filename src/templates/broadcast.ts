/**
 * Emergency broadcast (应急广播 / 村村响) TTS text for village loudspeakers: plain spoken language
 * addressed to residents, no codes or links, repeated (default 3 times for red/orange, twice
 * otherwise). `text` is one reading, `script` the whole programme.
 */
import { droppedSentence, referencedPhrase, spokenMarked } from './common';
import {
  article,
  freeText,
  leadSentences,
  listPlaces,
  sentence,
  WarningFacts,
  warningFacts,
} from './format';
import {
  IMMINENT_ACTION,
  IMMINENT_NO_RETURN,
  LEVEL_POLICY,
  METEO_PUBLIC_ADVICE,
  NO_SHELTER,
} from './policy';
import type { BroadcastContext, BroadcastMessage, TemplateTable } from './types';
import { ttsClean } from './voice';

const PLACES = 8;

function strip(s: string): string {
  return s.replace(/^\d+年/, '');
}

/* ---- Chinese ---- */

function imminentZh(f: WarningFacts): string {
  const when = f.onset ? `预计${strip(f.onset)}前后，` : '随时，';
  const instruction = f.instruction ? sentence(leadSentences(f.instruction, 100), 'zh-CN') : '';
  const shelter = f.shelter ?? NO_SHELTER['zh-CN'];
  const evacuate = instruction.includes(shelter)
    ? ''
    : `请受威胁的群众${IMMINENT_ACTION['zh-CN'].replace(/^请/, '')}到${shelter}，${IMMINENT_NO_RETURN['zh-CN']}。`;
  return `${when}${listPlaces(f.places, 'zh-CN', PLACES)}可能发生${f.hazard}。${evacuate}${instruction}`;
}

function meteoZh(f: WarningFacts): string {
  return (
    `${f.window}，${listPlaces(f.places, 'zh-CN', PLACES)}滑坡、崩塌、泥石流等地质灾害${f.risk}。` +
    LEVEL_POLICY[f.w.level].action['zh-CN'] +
    METEO_PUBLIC_ADVICE['zh-CN']
  );
}

const zhAlert =
  (body: (f: WarningFacts) => string) =>
  (ctx: BroadcastContext): BroadcastMessage => {
    const f = warningFacts(ctx);
    const urgent = f.imminent || f.w.level === 'red' ? '紧急通知！紧急通知！' : '';
    return programme(ctx, f, `${urgent}村民朋友们请注意：${f.issuer}发布${f.title}。${body(f)}`);
  };

const zhUpdate =
  (body: (f: WarningFacts) => string) =>
  (ctx: BroadcastContext): BroadcastMessage => {
    const f = warningFacts(ctx);
    const raised = f.change?.level === 'raised' ? '紧急通知！紧急通知！' : '';
    return programme(
      ctx,
      f,
      `${raised}村民朋友们请注意：${f.issuer}更新${f.title}，${sentence(f.change?.text ?? '', 'zh-CN')}${body(f)}`,
    );
  };

function zhCancel(ctx: BroadcastContext): BroadcastMessage {
  const f = warningFacts(ctx);
  if (f.dropped) {
    return programme(ctx, f, `村民朋友们请注意：${droppedSentence(f, false)}${f.instruction}`);
  }
  // The cancel's own reason, once, then its follow-up (never the alert's instruction).
  const reason = f.description ? sentence(leadSentences(f.description, 80), 'zh-CN') : '';
  return programme(
    ctx,
    f,
    `村民朋友们请注意：${referencedPhrase(f)}${f.title}现已解除。` +
      reason +
      sentence(leadSentences(f.instruction, 100), 'zh-CN'),
  );
}

/* ---- English ---- */

function imminentEn(f: WarningFacts): string {
  const when = f.onset ? ` around ${f.onset}` : ' at any time';
  const shelter = f.shelter ?? NO_SHELTER.en;
  return (
    `${article(f.hazard, true)} may happen${when} at ${listPlaces(f.places, 'en', PLACES)}. ` +
    `People in the danger area: ${IMMINENT_ACTION.en.toLowerCase()} to ${shelter}. ` +
    `${IMMINENT_NO_RETURN.en}. ` +
    sentence(freeText(leadSentences(f.instruction, 200), 'en', 'Measures'), 'en')
  );
}

function meteoEn(f: WarningFacts): string {
  return (
    `From ${f.window}, the risk of landslides, rockfalls and debris flows at ${listPlaces(f.places, 'en', PLACES)} is ${f.risk}. ` +
    `${LEVEL_POLICY[f.w.level].action.en} ` +
    METEO_PUBLIC_ADVICE.en
  );
}

const enAlert =
  (body: (f: WarningFacts) => string) =>
  (ctx: BroadcastContext): BroadcastMessage => {
    const f = warningFacts(ctx);
    const urgent = f.imminent || f.w.level === 'red' ? 'Urgent! Urgent! ' : '';
    return programme(
      ctx,
      f,
      `${urgent}Attention please: ${f.issuer} has issued ${article(f.title)}. ${body(f)}`,
    );
  };

const enUpdate =
  (body: (f: WarningFacts) => string) =>
  (ctx: BroadcastContext): BroadcastMessage => {
    const f = warningFacts(ctx);
    return programme(
      ctx,
      f,
      `Attention please: ${f.issuer} has updated the ${f.title}. ${sentence(f.change?.text ?? '', 'en')} ${body(f)}`,
    );
  };

function enCancel(ctx: BroadcastContext): BroadcastMessage {
  const f = warningFacts(ctx);
  if (f.dropped) {
    return programme(ctx, f, `Attention please: ${droppedSentence(f, false)} ${f.instruction}`);
  }
  return programme(
    ctx,
    f,
    `Attention please: the ${f.title} ${referencedPhrase(f)} is cancelled. ` +
      (f.description
        ? `${sentence(freeText(leadSentences(f.description, 160), 'en', 'Reason'), 'en')} `
        : '') +
      sentence(freeText(leadSentences(f.instruction, 200), 'en', 'Measures'), 'en'),
  );
}

/* ---- programme ---- */

function programme(ctx: BroadcastContext, f: WarningFacts, raw: string): BroadcastMessage {
  const repeat = Math.max(
    1,
    Math.floor(ctx.repeat ?? (f.w.level === 'red' || f.w.level === 'orange' ? 3 : 2)),
  );
  // A drill or test says so before and after every reading.
  const text = ttsClean(spokenMarked(f, raw), f.locale);
  const again = f.locale === 'en' ? 'Repeat: ' : '再播送一遍：';
  const script = Array.from({ length: repeat }, (_, i) => (i ? again : '') + text).join('\n');
  return { text, repeat, script };
}

export const broadcastTemplates: TemplateTable<BroadcastContext, BroadcastMessage> = {
  'zh-CN': {
    imminent: { alert: zhAlert(imminentZh), update: zhUpdate(imminentZh), cancel: zhCancel },
    meteorological_risk: { alert: zhAlert(meteoZh), update: zhUpdate(meteoZh), cancel: zhCancel },
  },
  en: {
    imminent: { alert: enAlert(imminentEn), update: enUpdate(imminentEn), cancel: enCancel },
    meteorological_risk: { alert: enAlert(meteoEn), update: enUpdate(meteoEn), cancel: enCancel },
  },
};
