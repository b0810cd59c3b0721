/**
 * Manual means: a task sent by SMS to a grid member — door-to-door (敲门入户) or gong-and-whistle
 * (鸣锣吹哨) — naming the warning, the households / area to visit, the deadline and how to
 * confirm (reply 1 when done, 2 for help, or the signed link). Long SMS; households beyond ten
 * are summarised as 等N户.
 */
import { droppedSentence, greeting, segmentsOf, signatureOf, tagOf } from './common';
import {
  article,
  enShortTime,
  freeText,
  leadSentences,
  listPlaces,
  sentence,
  WarningFacts,
  warningFacts,
  zhShortTime,
} from './format';
import {
  AFTER_RELEASE,
  IMMINENT_ACTION,
  IMMINENT_NO_RETURN,
  LEVEL_POLICY,
  NO_SHELTER,
} from './policy';
import type { ManualContext, ManualTaskMessage, ManualTaskTarget, TemplateTable } from './types';

const MAX_TARGETS = 10;

/** A policy sentence as a clause: 请加强巡查防范。 → 加强巡查防范. */
const bare = (s: string): string => s.replace(/^请/, '').replace(/[。.]$/, '');

function targetsZh(targets: readonly ManualTaskTarget[]): string {
  const shown = targets.slice(0, MAX_TARGETS).map((t) => {
    const extra = [t.people ? `${t.people}人` : '', t.address ?? ''].filter(Boolean).join('，');
    return `${t.name}家${extra ? `（${extra}）` : ''}`;
  });
  const people = targets.every((t) => t.people)
    ? targets.reduce((n, t) => n + (t.people ?? 0), 0)
    : 0;
  const more = targets.length > MAX_TARGETS ? `等` : '';
  return `${shown.join('、')}${more}共${targets.length}户${people ? `${people}人` : ''}`;
}

function targetsEn(targets: readonly ManualTaskTarget[]): string {
  const shown = targets.slice(0, MAX_TARGETS).map((t) => {
    const extra = [t.people ? `${t.people} people` : '', t.address ?? '']
      .filter(Boolean)
      .join(', ');
    return `${t.name}${extra ? ` (${extra})` : ''}`;
  });
  const people = targets.every((t) => t.people)
    ? targets.reduce((n, t) => n + (t.people ?? 0), 0)
    : 0;
  const more = targets.length > MAX_TARGETS ? ` and ${targets.length - MAX_TARGETS} more` : '';
  return `${shown.join('; ')}${more} (${targets.length} households${people ? `, ${people} people` : ''})`;
}

function situationZh(f: WarningFacts): string {
  const places = listPlaces(f.places, 'zh-CN', 5);
  if (f.dropped) return droppedSentence(f, false);
  if (f.w.msgType === 'cancel') {
    return `${f.title}已解除。${f.description ? sentence(leadSentences(f.description, 60), 'zh-CN') : ''}`;
  }
  const head =
    f.w.msgType === 'update'
      ? `${f.title}已更新（${f.change?.text ?? ''}）`
      : `${f.title}（${f.rank}）已发布`;
  if (f.imminent) {
    const when = f.onsetShort ? `预计${f.onsetShort}前后` : '随时';
    return `${head}，${when}${places}可能发生${f.hazard}。`;
  }
  return `${head}，${f.windowShort}${places}地质灾害${f.risk}。`;
}

function situationEn(f: WarningFacts): string {
  const places = listPlaces(f.places, 'en', 5);
  if (f.dropped) return droppedSentence(f, false);
  if (f.w.msgType === 'cancel') {
    const reason = f.description
      ? ` ${sentence(freeText(leadSentences(f.description, 120), 'en', 'Reason'), 'en')}`
      : '';
    return `The ${f.title} has been cancelled.${reason}`;
  }
  const head =
    f.w.msgType === 'update'
      ? `The ${f.title} was updated (${f.change?.text ?? ''})`
      : `${article(f.title, true)} is in force`;
  if (f.imminent) {
    return `${head}: ${article(f.hazard)} may happen${f.onsetShort ? ` around ${f.onsetShort}` : ' at any time'} at ${places}.`;
  }
  return `${head}: ${f.risk} geohazard risk at ${places}, ${f.windowShort}.`;
}

function renderManualZh(ctx: ManualContext): ManualTaskMessage {
  const f = warningFacts(ctx);
  const t = ctx.task;
  const cancel = f.w.msgType === 'cancel';
  const door = t.type === 'door_to_door';
  const title = f.dropped
    ? '预警范围调整通知任务'
    : cancel
      ? '预警解除通知任务'
      : door
        ? '敲门入户任务'
        : '鸣锣吹哨任务';
  const no = t.number ? `（任务号${t.number}）` : '';
  const where = t.area ?? listPlaces(f.places, 'zh-CN', 3);
  const targets = t.targets?.length ? targetsZh(t.targets) : '';
  // For a cancel, f.instruction is its own follow-up (or the policy's AFTER_RELEASE).
  const after = (cancel ? f.instruction : AFTER_RELEASE[f.w.kind]['zh-CN']).replace(
    /[。；，]+$/,
    '',
  );
  const what = f.dropped
    ? `告知本地已不在预警范围内，${after}`
    : cancel
      ? `告知预警已解除，${after}`
      : f.imminent
        ? `通知${bare(IMMINENT_ACTION['zh-CN'])}至${f.shelter ?? NO_SHELTER['zh-CN']}，${IMMINENT_NO_RETURN['zh-CN']}`
        : `通知${bare(LEVEL_POLICY[f.w.level].actionShort['zh-CN'])}`;
  let action: string;
  if (door || cancel) {
    action = targets
      ? `请立即到${where}逐户敲门，${what}：${targets}。`
      : `请立即到${where}逐户敲门，${what}。`;
  } else {
    action = `请立即在${where}鸣锣吹哨，提醒群众${what.replace(/^通知/, '')}，并逐户核实${f.imminent ? '撤离' : '通知'}情况${targets ? `，重点：${targets}` : ''}。`;
  }
  const deadline = t.deadline ? `请于${zhShortTime(t.deadline, f.w.sentAt)}前完成，` : '';
  const key = (k: string) => (t.number ? `“${k} ${t.number}”` : k);
  const confirm =
    `${deadline}完成后回复${key(f.confirmKey)}确认，需要支援回复${key(f.helpKey)}。` +
    (f.confirmUrl ? `也可点击确认：${f.confirmUrl} ` : '');
  const who = greeting(f).replace(/：$/, '，');
  const sms =
    `${signatureOf(f)}${tagOf(f)}${who}${title}${no}：${situationZh(f)}${action}${confirm}`.trim();
  return { sms, segments: segmentsOf(sms), title };
}

function renderManualEn(ctx: ManualContext): ManualTaskMessage {
  const f = warningFacts(ctx);
  const t = ctx.task;
  const cancel = f.w.msgType === 'cancel';
  const door = t.type === 'door_to_door';
  const title = f.dropped
    ? 'Warning-area change notification task'
    : cancel
      ? 'All-clear notification task'
      : door
        ? 'Door-to-door task'
        : 'Gong-and-whistle task';
  const where = t.area ?? listPlaces(f.places, 'en', 3);
  const targets = t.targets?.length ? targetsEn(t.targets) : '';
  const after = (cancel ? f.instruction : AFTER_RELEASE[f.w.kind].en).replace(/[.;,]+$/, '');
  // A cancel's own measures written in Chinese are quoted as such (see freeText).
  const afterEn = freeText(after, 'en', 'measures');
  const what = f.dropped
    ? `tell them their area is no longer within the warning (${after.toLowerCase()})`
    : cancel
      ? `tell them the warning is cancelled (${afterEn === after ? after.toLowerCase() : afterEn})`
      : f.imminent
        ? `tell them to ${IMMINENT_ACTION.en.toLowerCase()} to ${f.shelter ?? NO_SHELTER.en} (${IMMINENT_NO_RETURN.en.toLowerCase()})`
        : `tell them to ${bare(LEVEL_POLICY[f.w.level].actionShort.en).replace(/^./, (c) => c.toLowerCase())}`;
  const action =
    door || cancel
      ? `Go now to ${where}, knock on every door and ${what}${targets ? `: ${targets}` : ''}.`
      : `Sound the gong and whistle now in ${where} and ${what}; then check every household${targets ? `, especially: ${targets}` : ''}.`;
  const deadline = t.deadline ? `Finish by ${enShortTime(t.deadline, f.w.sentAt)}. ` : '';
  const key = (k: string) => (t.number ? `"${k} ${t.number}"` : k);
  const confirm =
    `${deadline}Reply ${key(f.confirmKey)} when done, ${key(f.helpKey)} if you need help.` +
    (f.confirmUrl ? ` Or confirm here: ${f.confirmUrl}` : '');
  const who = f.recipientName ? `${f.recipientName}, ` : '';
  const sms = `${signatureOf(f)}${tagOf(f)}${who}${title}${t.number ? ` no. ${t.number}` : ''}: ${situationEn(f)} ${action} ${confirm}`;
  return { sms, segments: segmentsOf(sms), title };
}

export const manualTemplates: TemplateTable<ManualContext, ManualTaskMessage> = {
  'zh-CN': {
    imminent: { alert: renderManualZh, update: renderManualZh, cancel: renderManualZh },
    meteorological_risk: { alert: renderManualZh, update: renderManualZh, cancel: renderManualZh },
  },
  en: {
    imminent: { alert: renderManualEn, update: renderManualEn, cancel: renderManualEn },
    meteorological_risk: { alert: renderManualEn, update: renderManualEn, cancel: renderManualEn },
  },
};
