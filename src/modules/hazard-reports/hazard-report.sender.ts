import { Injectable, Logger } from '@nestjs/common';
import { ChannelRegistry } from '../../channels/channel-registry';
import { PublicUrls } from '../../common/public-urls';
import {
  HazardReportsRepository,
  type NoticeRow,
  type Recipient,
} from './hazard-reports.repository';

/**
 * Sends a report's notices to duty offices by SMS, straight through the configured SMS channel
 * (a report is not a warning: it has no deliveries or contact attempts). Each send is recorded in
 * hazard_report_notices before it goes out ('sending') and marked sent or failed after.
 */
@Injectable()
export class HazardReportSender {
  private readonly logger = new Logger(HazardReportSender.name);

  constructor(
    private readonly registry: ChannelRegistry,
    private readonly repo: HazardReportsRepository,
    private readonly urls: PublicUrls,
  ) {}

  /** The TwiML a report call fetches (read, then a keypress 1 acknowledges). */
  twimlUrl(noticeId: string): string {
    return `${this.urls.base}/webhooks/hazard-reports/voice/${noticeId}/twiml`;
  }

  gatherUrl(noticeId: string): string {
    return `${this.urls.base}/webhooks/hazard-reports/voice/${noticeId}/gather`;
  }

  /** Calls each recipient; the text is read from the notice when the call is answered. */
  async call(
    reportId: string,
    purpose: NoticeRow['purpose'],
    recipients: Recipient[],
  ): Promise<{ sent: number; failed: number }> {
    const results = await Promise.all(
      recipients.map(async (r) => {
        const id = await this.repo.insertNotice({
          reportId,
          personId: r.personId,
          level: r.level,
          purpose,
          channel: 'voice',
        });
        try {
          const receipt = await this.registry.voice.call({
            to: r.mobile,
            twimlUrl: this.twimlUrl(id),
            ringTimeoutSec: 30,
          });
          await this.repo.finishNotice(id, { status: 'sent', providerId: receipt.providerId });
          return true;
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.logger.warn({ reportId, noticeId: id, err: message }, 'hazard report call failed');
          await this.repo.finishNotice(id, { status: 'failed', error: message });
          return false;
        }
      }),
    );
    const sent = results.filter(Boolean).length;
    return { sent, failed: results.length - sent };
  }

  /** Sends `body` to each recipient; answers how many were accepted by the provider. */
  async sendSms(
    reportId: string,
    purpose: NoticeRow['purpose'],
    recipients: Recipient[],
    body: (r: Recipient) => string,
  ): Promise<{ sent: number; failed: number }> {
    const results = await Promise.all(
      recipients.map(async (r) => {
        const id = await this.repo.insertNotice({
          reportId,
          personId: r.personId,
          level: r.level,
          purpose,
          channel: 'sms',
        });
        try {
          const receipt = await this.registry.sms.send({ to: r.mobile, body: body(r) });
          await this.repo.finishNotice(id, { status: 'sent', providerId: receipt.providerId });
          return true;
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.logger.warn({ reportId, noticeId: id, err: message }, 'hazard report SMS failed');
          await this.repo.finishNotice(id, { status: 'failed', error: message });
          return false;
        }
      }),
    );
    const sent = results.filter(Boolean).length;
    return { sent, failed: results.length - sent };
  }
}
