import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/env.validation';

/** Absolute URLs the outside world calls back on: built from PUBLIC_BASE_URL, never hard-coded. */
@Injectable()
export class PublicUrls {
  readonly base: string;

  constructor(config: ConfigService<EnvironmentVariables, true>) {
    const configured = config.get('PUBLIC_BASE_URL', { infer: true }) as string | undefined;
    this.base = (configured ?? `http://localhost:${config.get('PORT', { infer: true })}`).replace(
      /\/+$/,
      '',
    );
  }

  url(path: string): string {
    return `${this.base}${path.startsWith('/') ? '' : '/'}${path}`;
  }

  /** Per attempt, so that a receipt arriving before the send is recorded still finds its attempt. */
  smsStatus = (attemptId: string) => this.url(`/webhooks/twilio/sms/${attemptId}/status`);
  smsInbound = () => this.url('/webhooks/twilio/sms');
  voiceTwiml = (attemptId: string) => this.url(`/webhooks/twilio/voice/${attemptId}/twiml`);
  voiceGather = (attemptId: string) => this.url(`/webhooks/twilio/voice/${attemptId}/gather`);
  voiceStatus = (attemptId: string) => this.url(`/webhooks/twilio/voice/${attemptId}/status`);
  broadcastReceipts = () => this.url('/webhooks/broadcast/receipts');
  confirmLink = (token: string) => this.url(`/c/${token}`);
}
