import { joinPlaceName } from './format';
import { IMMINENT_ACTION, IMMINENT_GO_TO, IMMINENT_NO_RETURN, NO_SHELTER } from './policy';
import type { HazardGrade } from '../common/domain/hazard-grade';

/** What the SMS to a duty office says of a report. */
export interface ReportSmsContext {
  reportId: string;
  placeName: string;
  grade: HazardGrade;
  peopleThreatened: number;
  observed: string;
  reporterName: string;
  reporterPhone?: string;
  /** Set for 特大型/大型: when the city must have acknowledged. */
  cityDeadline?: Date;
  /** The signed one-tap acknowledgement link of this notice (duty offices only). */
  ackUrl?: string;
  /** For the county's responsible persons: told, not asked to acknowledge (only duty offices do). */
  informOnly?: boolean;
}

/** How to acknowledge: the SMS reply, and the link when the notice has one. */
const howToAck = (c: ReportSmsContext) =>
  c.ackUrl ? `回复“险情1”或点击${c.ackUrl} 确认接报` : '回复“险情1”确认接报';

export type HazardSmsLocale = 'zh-CN' | 'en';

const SIGNATURE = '【险情上报】';
const EN_SIGNATURE = '[Hazard report]';
export const EN_GRADE: Record<HazardGrade, string> = {
  特大型: 'very large',
  大型: 'large',
  中型: 'medium',
  小型: 'small',
};
const shortId = (id: string) => id.slice(0, 8);
const clip = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** Beijing time, hh:mm. */
function hhmm(at: Date): string {
  const bj = new Date(at.getTime() + 8 * 3600_000);
  return `${String(bj.getUTCHours()).padStart(2, '0')}:${String(bj.getUTCMinutes()).padStart(2, '0')}`;
}

/** hh:mm Beijing time, for English texts. */
const enTime = (at: Date) => `${hhmm(at)} Beijing time`;
const enHowToAck = (c: ReportSmsContext) =>
  c.ackUrl ? `reply "险情1" or open ${c.ackUrl} to acknowledge` : 'reply "险情1" to acknowledge';

/** The first notice to the county (and, for 特大型/大型, city) duty office. */
export function reportNoticeSms(c: ReportSmsContext, locale: HazardSmsLocale = 'zh-CN'): string {
  if (locale === 'en') {
    const deadline = c.cityDeadline
      ? `It must reach the city by ${enTime(c.cityDeadline)}: ${enHowToAck(c)} now.`
      : `Please ${enHowToAck(c)} now.`;
    return (
      `${EN_SIGNATURE} ${EN_GRADE[c.grade]} geological hazard at ${c.placeName}, ` +
      `${c.peopleThreatened} people threatened. ${clip(c.observed, 60)}. Reported by ` +
      `${c.reporterName}${c.reporterPhone ? ` (${c.reporterPhone})` : ''}. ${deadline} ` +
      `(report ${shortId(c.reportId)})`
    );
  }
  const reporter = c.reporterPhone ? `${c.reporterName}（${c.reporterPhone}）` : c.reporterName;
  const deadline = c.cityDeadline
    ? `须于${hhmm(c.cityDeadline)}前报至市级，请立即${howToAck(c)}。`
    : `请立即${howToAck(c)}。`;
  return (
    `${SIGNATURE}${c.placeName}发生${c.grade}地质灾害险情，威胁${c.peopleThreatened}人。` +
    `${clip(c.observed, 60)}。报告人：${reporter}。${deadline}（报告号${shortId(c.reportId)}）`
  );
}

/** At the 45-minute mark, when the city has not acknowledged. */
export function reportEscalationSms(
  c: ReportSmsContext & { minutes: number },
  locale: HazardSmsLocale = 'zh-CN',
): string {
  if (locale === 'en') {
    return (
      `${EN_SIGNATURE} [Reminder] The ${EN_GRADE[c.grade]} hazard at ${c.placeName} ` +
      `(${c.peopleThreatened} people threatened) was reported ${c.minutes} minutes ago and the city ` +
      `duty office has not acknowledged it: ` +
      `${c.informOnly ? 'see that the report is acknowledged and acted on' : `${enHowToAck(c)} and act on it`} now. ` +
      `(report ${shortId(c.reportId)})`
    );
  }
  return (
    `${SIGNATURE}【催报】${c.placeName}${c.grade}地质灾害险情（威胁${c.peopleThreatened}人）` +
    `已上报${c.minutes}分钟，市级值班室尚未确认接报，` +
    `${c.informOnly ? '请督促接报并组织处置' : `请立即${howToAck(c)}并组织处置`}。（报告号${shortId(c.reportId)}）`
  );
}

/** What a call to a duty office reads (then: press 1 to acknowledge). */
export function reportCallScripts(
  c: ReportSmsContext & { escalation: boolean },
  locale: HazardSmsLocale = 'zh-CN',
) {
  if (locale === 'en') {
    const opening = c.escalation
      ? `Hazard report reminder. The ${EN_GRADE[c.grade]} geological hazard at ${c.placeName} was reported and the city duty office has not acknowledged it.`
      : `Hazard report. A ${EN_GRADE[c.grade]} geological hazard at ${c.placeName}.`;
    return {
      script: `${opening} ${c.peopleThreatened} people threatened. ${clip(c.observed, 60)}. Press 1 to acknowledge.`,
      reprompt: 'Once more.',
      thanks: 'Acknowledged, thank you.',
      helpAcknowledged: 'Not acknowledged. Call back or use the duty system to acknowledge.',
    };
  }
  const opening = c.escalation
    ? `险情催报。${c.placeName}${c.grade}地质灾害险情已上报，市级值班室尚未确认接报。`
    : `险情上报。${c.placeName}发生${c.grade}地质灾害险情。`;
  return {
    script: `${opening}威胁${c.peopleThreatened}人。${clip(c.observed, 60)}。确认接报请按1。`,
    reprompt: '请再听一遍。',
    thanks: '已确认接报，谢谢。',
    helpAcknowledged: '未确认接报。确认接报请回拨或登录值班系统。',
  };
}

/** What the SMS of a direct notice to the people threatened by a hazard point says. */
export interface DirectNoticeSmsContext {
  reportId: string;
  placeName: string;
  observed: string;
  /** Who notifies them (the responsible person on site). */
  by: string;
}

/**
 * A direct notice (extreme danger): the responsible person on site tells the people threatened by
 * the hazard point to leave at once. No acknowledgement is asked for: it is not a duty office notice.
 */
export function directNoticeSms(c: DirectNoticeSmsContext, locale: HazardSmsLocale = 'zh-CN') {
  if (locale === 'en') {
    return (
      `[Emergency evacuation] Geological hazard at ${c.placeName}: ${clip(c.observed, 60)}. ` +
      `${c.by} notifies you: ${IMMINENT_ACTION.en} to ${NO_SHELTER.en} and follow the ` +
      `instructions on site. ${IMMINENT_NO_RETURN.en}. (report ${shortId(c.reportId)})`
    );
  }
  const zh = 'zh-CN';
  return (
    `【紧急避险】${c.placeName}发生地质灾害险情：${clip(c.observed, 60)}。${c.by}通知：` +
    `受威胁群众${IMMINENT_GO_TO[zh]}${NO_SHELTER[zh]}，听从现场指挥，${IMMINENT_NO_RETURN[zh]}。` +
    `（报告号${shortId(c.reportId)}）`
  );
}

/** What the SMS answered to an SMS starting with 险情 may say. */
export type HazardSmsReplyKind =
  | 'acknowledged'
  | 'already_acknowledged'
  | 'no_notice'
  | 'how_to_acknowledge'
  | 'report_not_found'
  | 'report_received'
  | 'how_to_report'
  | 'not_a_reporter';

export interface HazardSmsReplyContext {
  /** The report's place and grade (acknowledged, already_acknowledged, report_received). */
  reportId?: string;
  placeName?: string;
  grade?: HazardGrade;
  peopleThreatened?: number;
  /** report_received: the report must reach the city (特大型 / 大型). */
  toCity?: boolean;
  /** report_received: the SMS named no number of people threatened. */
  peopleMissing?: boolean;
}

/** The SMS answered to an SMS about a hazard report (acknowledging one, or reporting one). */
export function hazardSmsReply(
  kind: HazardSmsReplyKind,
  c: HazardSmsReplyContext = {},
  locale: HazardSmsLocale = 'zh-CN',
): string {
  const no = c.reportId ? shortId(c.reportId) : '';
  if (locale === 'en') {
    const what = `the ${c.grade ? EN_GRADE[c.grade] : ''} hazard at ${c.placeName ?? ''} (report ${no})`;
    const texts: Record<HazardSmsReplyKind, string> = {
      acknowledged: `[Hazard report] Acknowledged: ${what}.`,
      already_acknowledged: `[Hazard report] ${what.charAt(0).toUpperCase()}${what.slice(1)} was acknowledged already; no need to reply again.`,
      no_notice: '[Hazard report] No hazard report notice was sent to your number.',
      how_to_acknowledge: '[Hazard report] To acknowledge, reply "险情1".',
      report_not_found: '[Hazard report] That hazard report was not found.',
      report_received:
        `[Hazard report] Received: report ${no}, ${c.placeName ?? ''}, ${c.grade ? EN_GRADE[c.grade] : ''}` +
        `${c.peopleMissing ? '' : `, ${c.peopleThreatened ?? 0} people threatened`}. ` +
        `The county duty office${c.toCity ? ' and the city duty office have' : ' has'} been told.` +
        `${c.peopleMissing ? ' Please call the duty office with the number of people threatened.' : ''}`,
      how_to_report:
        '[Hazard report] To report a hazard, send "险情 <place> <what you see> <N>人", e.g. "险情 三塘社区后山裂缝扩大 约30人".',
      not_a_reporter:
        '[Hazard report] Your number is not registered as a monitor, grid member or responsible person: please call the duty office.',
    };
    return texts[kind];
  }
  const what = `${c.placeName ?? ''}${c.grade ?? ''}险情（报告号${no}）`;
  const texts: Record<HazardSmsReplyKind, string> = {
    acknowledged: `${SIGNATURE}已确认接报：${what}。`,
    already_acknowledged: `${SIGNATURE}${what}已确认接报，无需再次回复。`,
    no_notice: `${SIGNATURE}未找到发给您的险情通知。`,
    how_to_acknowledge: `${SIGNATURE}确认接报请回复“险情1”。`,
    report_not_found: `${SIGNATURE}未找到该险情报告。`,
    report_received:
      `${SIGNATURE}已收到您上报的险情，报告号${no}：${c.placeName ?? ''}，${c.grade ?? ''}` +
      `${c.peopleMissing ? '' : `，威胁${c.peopleThreatened ?? 0}人`}。` +
      `已通知县值班室${c.toCity ? '并报市级值班室' : ''}。` +
      `${c.peopleMissing ? '请尽快电话补报受威胁人数。' : '请注意自身安全。'}`,
    how_to_report: `${SIGNATURE}上报险情请发送“险情 地点 情况 人数”，如“险情 三塘社区后山裂缝扩大 约30人”。`,
    not_a_reporter: `${SIGNATURE}您的号码未登记为监测员、网格员或责任人，无法短信上报险情，请拨打值班电话。`,
  };
  return texts[kind];
}

/** One hazard report text of the message catalogue (docs/messages.md). */
export interface HazardCatalogueEntry {
  locale: HazardSmsLocale;
  title: string;
  text: string;
}

/** Every text about hazard reports, with fixed example data, for the message catalogue. */
export function hazardReportCatalogue(): HazardCatalogueEntry[] {
  const ctx: ReportSmsContext = {
    reportId: '1a2b3c4d-0000-4000-8000-000000000000',
    placeName: '汶川县映秀镇渔子溪村渔子溪滑坡隐患点',
    grade: '大型',
    peopleThreatened: 600,
    observed: '后山出现长约50米的裂缝，房屋墙体开裂',
    reporterName: '李网格',
    reporterPhone: '+8613800000002',
    cityDeadline: new Date('2026-07-01T12:30:00Z'),
    ackUrl: 'https://gw.example.cn/c/h/GhorPAAAQACAAAAAAAAAAGhjdyA.q1sA2cVYwL3AkVe4NaL1dA',
  };
  const small: ReportSmsContext = {
    ...ctx,
    grade: '小型',
    peopleThreatened: 30,
    cityDeadline: undefined,
  };
  const out: HazardCatalogueEntry[] = [];
  for (const locale of ['zh-CN', 'en'] as const) {
    const add = (title: string, text: string) => out.push({ locale, title, text });
    add(
      '报告通知短信（大型，县、市值班室） · Report notice SMS (large: county and city)',
      reportNoticeSms(ctx, locale),
    );
    add(
      '报告通知短信（小型，县值班室） · Report notice SMS (small: county)',
      reportNoticeSms(small, locale),
    );
    add(
      '催报短信（市值班室，45分钟） · Reminder SMS (city, at 45 minutes)',
      reportEscalationSms({ ...ctx, minutes: 45 }, locale),
    );
    add(
      '催报短信（县责任人） · Reminder SMS (county responsible persons)',
      reportEscalationSms({ ...ctx, ackUrl: undefined, informOnly: true, minutes: 45 }, locale),
    );
    for (const escalation of [false, true]) {
      const s = reportCallScripts({ ...ctx, escalation }, locale);
      add(
        escalation ? '催报电话 · Reminder call' : '报告电话 · Report call',
        [s.script, s.reprompt, s.thanks, s.helpAcknowledged].join('\n'),
      );
    }
    add(
      '直接通知短信（受威胁群众，紧急避险） · Direct notice SMS (threatened people, extreme danger)',
      directNoticeSms(
        { reportId: ctx.reportId, placeName: ctx.placeName, observed: ctx.observed, by: '李网格' },
        locale,
      ),
    );
    const report = { reportId: ctx.reportId, placeName: ctx.placeName, grade: ctx.grade };
    const replies: [HazardSmsReplyKind, HazardSmsReplyContext][] = [
      ['acknowledged', report],
      ['already_acknowledged', report],
      ['no_notice', {}],
      ['how_to_acknowledge', {}],
      ['report_not_found', {}],
      [
        'report_received',
        {
          ...report,
          // As the repository joins division and location (渔子溪村 once).
          placeName: joinPlaceName('汶川县映秀镇渔子溪村', null, '渔子溪村三组后山'),
          grade: '小型',
          peopleThreatened: 30,
        },
      ],
      ['report_received', { ...report, grade: '大型', peopleThreatened: 600, toCity: true }],
      ['report_received', { ...report, grade: '小型', peopleThreatened: 0, peopleMissing: true }],
      ['how_to_report', {}],
      ['not_a_reporter', {}],
    ];
    for (const [kind, c] of replies) {
      add(`回复短信 · SMS reply: ${kind}`, hazardSmsReply(kind, c, locale));
    }
  }
  return out;
}
