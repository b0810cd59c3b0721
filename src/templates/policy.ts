/**
 * The one table of what the messages promise: what a level means, what to do at each level,
 * what to do after a release, and how a drill or a test is marked. SMS, call, robot, e-mail,
 * loudspeaker and task templates all read it from here, so no two channels can disagree.
 */
import type { WarningKind, WarningLevel, WarningStatus } from '../common/domain/warning.types';
import type { Locale } from './types';

type Text = Record<Locale, string>;

export interface LevelPolicy {
  /** What the level means: 风险很高 / very high. */
  risk: Text;
  /** What to do under a meteorological risk warning of this level (one sentence). */
  action: Text;
  /**
   * The same in the fewest words, for a one-segment SMS that has no room for `action`: the
   * short message still ends with a whole sentence that says what to do.
   */
  actionShort: Text;
}

export const LEVEL_POLICY: Record<WarningLevel, LevelPolicy> = {
  red: {
    risk: { 'zh-CN': '风险很高', en: 'very high' },
    action: { 'zh-CN': '请加密巡查，做好转移避险准备。', en: 'Patrol and prepare to evacuate.' },
    actionShort: { 'zh-CN': '请做好避险准备。', en: 'Prepare to evacuate.' },
  },
  orange: {
    risk: { 'zh-CN': '风险高', en: 'high' },
    action: { 'zh-CN': '请加强巡查防范。', en: 'Step up patrols.' },
    actionShort: { 'zh-CN': '请加强巡查防范。', en: 'Step up patrols.' },
  },
  yellow: {
    risk: { 'zh-CN': '风险较高', en: 'elevated' },
    action: { 'zh-CN': '请注意巡查防范。', en: 'Stay alert.' },
    actionShort: { 'zh-CN': '请注意巡查防范。', en: 'Stay alert.' },
  },
  blue: {
    risk: { 'zh-CN': '有一定风险', en: 'moderate' },
    action: { 'zh-CN': '请注意防范。', en: 'Stay alert.' },
    actionShort: { 'zh-CN': '请注意防范。', en: 'Stay alert.' },
  },
};

/** What an imminent warning asks of the people threatened. */
export const IMMINENT_ACTION: Text = { 'zh-CN': '请立即撤离', en: 'Evacuate now' };
/** The same in the fewest words, before the shelter: Go to 映秀镇小学 now. (one-segment SMS). */
export const IMMINENT_GO_TO: Text = { 'zh-CN': '请立即撤离至', en: 'Go to' };
/** Said to the people an imminent warning evacuates: never go back. */
export const IMMINENT_NO_RETURN: Text = {
  'zh-CN': '不要返回取物',
  en: 'Do not go back for belongings',
};
/**
 * What residents do under a meteorological risk warning, whatever its level (the loudspeaker
 * says it after the level's `action`).
 */
export const METEO_PUBLIC_ADVICE: Text = {
  'zh-CN':
    '请远离陡坡、沟谷和河道，发现山体开裂、异常响声、溪水突然变浑等险情，立即撤离并报告村组干部。',
  en: 'Keep away from steep slopes, gullies and rivers. If you see cracks, hear unusual noises or streams turn muddy, leave at once and tell the village officials.',
};
/** Where to go when an imminent warning names no shelter. */
export const NO_SHELTER: Text = { 'zh-CN': '安全地带', en: 'safe ground' };

/**
 * What to do after a release (解除) or when one's own area is no longer within the warning, when
 * the release names no follow-up measure of its own.
 */
export const AFTER_RELEASE: Record<WarningKind, Text> = {
  imminent: {
    'zh-CN': '撤离群众须经村组干部确认安全后再返回。',
    en: 'Evacuees return only when the village officials declare it safe.',
  },
  meteorological_risk: {
    'zh-CN': '请继续关注天气变化，注意防范。',
    en: 'Keep watching the weather and stay alert.',
  },
};

/** Short forms of AFTER_RELEASE for the one-segment SMS. */
export const AFTER_RELEASE_SHORT: Record<WarningKind, Text> = {
  imminent: { 'zh-CN': '撤离群众须确认安全后再返回。', en: 'Return only when declared safe.' },
  meteorological_risk: { 'zh-CN': '请继续关注天气变化。', en: 'Keep watching the weather.' },
};

/**
 * Wording of an instruction that belongs to an alert and must never be repeated in a release
 * (a release that says 立即撤离 contradicts itself).
 */
export const ALERT_ONLY_INSTRUCTION =
  /立即(撤离|转移)|迅速撤离|严禁返回|不得返回|不要返回|evacuate (now|immediately)|leave now/i;

export interface StatusMark {
  /** Leads written texts: 【演练】 / [DRILL]. */
  tag: string;
  /** Said before and after spoken texts: 这是一次演练。 / This is a drill. */
  spoken: string;
  /** The word alone: 演练 / drill. */
  word: string;
}

/** How a drill (exercise) or a test is marked; an actual warning carries no mark. */
export const STATUS_MARKS: Record<Exclude<WarningStatus, 'actual'>, Record<Locale, StatusMark>> = {
  exercise: {
    'zh-CN': { tag: '【演练】', spoken: '这是一次演练。', word: '演练' },
    en: { tag: '[DRILL]', spoken: 'This is a drill.', word: 'drill' },
  },
  test: {
    'zh-CN': { tag: '【测试】', spoken: '这是一次测试。', word: '测试' },
    en: { tag: '[TEST]', spoken: 'This is a test.', word: 'test' },
  },
};

export function statusMark(status: WarningStatus, locale: Locale): StatusMark | undefined {
  return status === 'actual' ? undefined : STATUS_MARKS[status][locale];
}
