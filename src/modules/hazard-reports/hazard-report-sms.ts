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

/** What follows 险情: an acknowledgement (1, 确认, 收到), optionally with the report number. */
export function parseHazardReportSms(body: string): { ack: boolean; reportNo?: string } {
  const rest = body
    .trim()
    .replace(/^险情/, '')
    .replace(/^[\s:：,，]+/, '');
  const ack = /^(1|确认|收到|接报)/.test(rest);
  const no = /\b([0-9a-f]{8})\b/i.exec(rest)?.[1]?.toLowerCase();
  return { ack, ...(no ? { reportNo: no } : {}) };
}
