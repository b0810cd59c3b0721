import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ChannelRegistry } from '../../channels/channel-registry';
import { DeliveryEventsService } from './delivery-events.service';

const SMS_FINAL = new Set(['delivered', 'undelivered', 'failed']);
const CALL_FINAL = new Set(['completed', 'no-answer', 'busy', 'failed', 'canceled']);
/** Sends asked about per sweep, at most. */
const BATCH = 200;
/** A send is asked about again only this long after the last time. */
const ASK_AGAIN_MS = 10 * 60_000;

/**
 * Sends a provider accepted whose status never came back (callbacks lost: the gateway or its
 * database was down when the provider called, and the provider gave up): after
 * RECEIPT_POLL_AFTER_SECONDS the provider is asked, and what it says is applied exactly as its
 * callback would have been (delivered, undelivered, a call completed or not answered). Part of
 * the recovery sweep.
 */
@Injectable()
export class SilentSendsService {
  private readonly logger = new Logger(SilentSendsService.name);
  /** When each send was last asked about, in this process (bounded by the sweep's batch). */
  private readonly asked = new Map<string, number>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(ConfigService) private readonly config: ConfigService,
    private readonly channels: ChannelRegistry,
    private readonly events: DeliveryEventsService,
  ) {}

  /** Asks the provider about silent sends; the number whose status was applied. */
  async poll(): Promise<number> {
    const after = Number(this.config.get('RECEIPT_POLL_AFTER_SECONDS') ?? 600);
    const now = Date.now();
    for (const [id, at] of this.asked) if (now - at > ASK_AGAIN_MS) this.asked.delete(id);
    const silent = await this.db.query<{ id: string; channel: string; providerId: string }[]>(
      `SELECT id, channel, provider_id AS "providerId" FROM contact_attempts
        WHERE provider = 'twilio' AND status = 'sent' AND provider_id IS NOT NULL
          AND sent_at < now() - make_interval(secs => $1) AND sent_at > now() - interval '2 days'
        ORDER BY sent_at LIMIT $2`,
      [after, BATCH * 2],
    );
    let applied = 0;
    for (const a of silent.filter((s) => !this.asked.has(s.id)).slice(0, BATCH)) {
      this.asked.set(a.id, now);
      try {
        if (a.channel === 'voice') {
          const s = await this.channels.voice.statusOf?.(a.providerId);
          if (!s || !CALL_FINAL.has(s.status)) continue;
          await this.events.callStatus(a.id, {
            callSid: a.providerId,
            status: s.status,
            duration: s.durationS,
            errorCode: s.errorCode,
          });
        } else {
          const s = await this.channels.sms.statusOf?.(a.providerId);
          if (!s || !SMS_FINAL.has(s.status)) continue;
          await this.events.smsStatus({
            messageSid: a.providerId,
            status: s.status,
            errorCode: s.errorCode,
            attemptId: a.id,
          });
        }
        applied++;
      } catch (err) {
        this.logger.warn({ attemptId: a.id, err }, 'could not ask the provider about a send');
      }
    }
    if (applied) this.logger.warn({ applied }, 'applied statuses whose callbacks never came');
    return applied;
  }
}
