/**
 * SMS replies about hazard reports: an SMS that starts with 险情 is handed to the hazard report
 * service before any other matching (sms-replies.service.ts). Provided under this token by the
 * (global) hazard reports module; absent in processes without it.
 */
export const HAZARD_REPORT_SMS = Symbol('HAZARD_REPORT_SMS');

export interface HazardReportSmsHandler {
  handleSms(e: {
    messageSid: string;
    from: string;
    body: string;
  }): Promise<{ acknowledged: boolean; reply: string }>;
}

export const isHazardReportSms = (body: string): boolean => body.trim().startsWith('险情');

/**
 * What follows 险情: an acknowledgement (1, 确认, 收到, 接报), optionally with the report number;
 * or else the words of a new report (`text`). A lone 1 acknowledges only when it stands alone
 * (`险情1`, `险情 1 1a2b3c4d`): `险情 1组后山裂缝` is a report.
 */
export function parseHazardReportSms(body: string): {
  ack: boolean;
  reportNo?: string;
  text: string;
} {
  const rest = body
    .trim()
    .replace(/^险情/, '')
    .replace(/^[\s:：,，]+/, '')
    .trim();
  const ack = /^(确认|收到|接报|1(?=$|[\s,，:：.。!！]))/.test(rest);
  const no = ack ? /\b([0-9a-f]{8})\b/i.exec(rest)?.[1]?.toLowerCase() : undefined;
  return { ack, ...(no ? { reportNo: no } : {}), text: ack ? '' : rest };
}

/**
 * A report by SMS (`险情 三塘社区后山裂缝扩大 约30人`): the people threatened when a number of
 * people is given (`约30人`, `威胁120余人`, `30名`; the largest when several), the place words
 * (the text up to the first space or comma), and what was seen (the whole text).
 */
export function parseHazardReportText(text: string): {
  peopleThreatened?: number;
  location: string;
  observed: string;
} {
  const counts = [...text.matchAll(/(\d{1,7})\s*(?:余|多)?\s*(?:人|名|口)/g)].map((m) =>
    Number(m[1]),
  );
  const location = text.split(/[\s,，;；。]+/)[0] ?? '';
  return {
    ...(counts.length ? { peopleThreatened: Math.max(...counts) } : {}),
    location: location.slice(0, 200),
    observed: text.slice(0, 1000),
  };
}
