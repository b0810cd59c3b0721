import type { HazardGrade } from './hazard-grade';

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
}

const SIGNATURE = '【险情上报】';
const shortId = (id: string) => id.slice(0, 8);
const clip = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** Beijing time, hh:mm. */
function hhmm(at: Date): string {
  const bj = new Date(at.getTime() + 8 * 3600_000);
  return `${String(bj.getUTCHours()).padStart(2, '0')}:${String(bj.getUTCMinutes()).padStart(2, '0')}`;
}

/** The first notice to the county (and, for 特大型/大型, city) duty office. */
export function reportNoticeSms(c: ReportSmsContext): string {
  const reporter = c.reporterPhone ? `${c.reporterName}（${c.reporterPhone}）` : c.reporterName;
  const deadline = c.cityDeadline
    ? `须于${hhmm(c.cityDeadline)}前报至市级，请立即回复“险情1”确认接报。`
    : '请立即回复“险情1”确认接报。';
  return (
    `${SIGNATURE}${c.placeName}发生${c.grade}地质灾害险情，威胁${c.peopleThreatened}人。` +
    `${clip(c.observed, 60)}。报告人：${reporter}。${deadline}（报告号${shortId(c.reportId)}）`
  );
}

/** At the 45-minute mark, when the city has not acknowledged. */
export function reportEscalationSms(c: ReportSmsContext & { minutes: number }): string {
  return (
    `${SIGNATURE}【催报】${c.placeName}${c.grade}地质灾害险情（威胁${c.peopleThreatened}人）` +
    `已上报${c.minutes}分钟，市级值班室尚未确认接报，` +
    `请立即回复“险情1”确认并组织处置。（报告号${shortId(c.reportId)}）`
  );
}

/** What a call to a duty office reads (then: press 1 to acknowledge). */
export function reportCallScripts(c: ReportSmsContext & { escalation: boolean }) {
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
