import type { Response } from 'express';

/** Twilio's REST error body: `{ code, message, more_info, status }` (what RestException reads). */
export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
  detail?: string;
}

export function twilioError(
  status: number,
  code: number,
  message: string,
  detail?: string,
): TwilioErrorBody {
  return {
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
    ...(detail ? { detail } : {}),
  };
}

export function sendTwilioError(res: Response, body: TwilioErrorBody): void {
  res.status(body.status).json(body);
}

/** Twilio's E.164 rule: a +, a country code not starting with 0, at most 15 digits. */
export function isE164(value: string): boolean {
  return /^\+[1-9]\d{1,14}$/.test(value);
}

/** Error codes the sandbox reports in status callbacks (carrier side). */
export const CARRIER_ERRORS: Record<number, string> = {
  30003: 'Unreachable destination handset',
  30005: 'Unknown destination handset',
  30006: 'Landline or unreachable carrier',
  30007: 'Message filtered',
  30008: 'Unknown error',
};
