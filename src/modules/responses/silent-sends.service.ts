import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { rows } from '../../database/sql';
import { ChannelRegistry } from '../../channels/channel-registry';
import { DeliveryEventsService } from './delivery-events.service';

const SMS_FINAL = new Set(['delivered', 'undelivered', 'failed']);
const CALL_FINAL = new Set(['completed', 'no-answer', 'busy', 'failed', 'canceled']);
/** Sends claimed per round of a poll. */
const BATCH = 200;
/** Silent SMS claimed at most for one listing of the provider's messages. */
const LIST_CLAIM = 20_000;
/** Fewer silent SMS than this are asked about one by one (a listing is not worth it). */
const LIST_MIN = 20;

interface SilentSend {
  id: string;
  channel: string;
  providerId: string;
}

/**
 * Sends a provider accepted whose status never came back (callbacks lost: the gateway or its
 * database was down or overloaded when the provider called, and the provider gave up): after
 * RECEIPT_POLL_AFTER_SECONDS the provider is asked, and what it says is applied exactly as its
 * callback would have been (delivered, undelivered, a call completed or not answered). Part of
 * the recovery sweep.
 *
 * A county's worth of lost callbacks (tens of thousands) is drained in rounds: each round claims
 * up to 200 silent sends (`status_asked_at`, shared by every worker process, so nothing is asked
 * twice within RECEIPT_POLL_AFTER_SECONDS: a call still ringing when first asked is asked again
 * that long after, not ten minutes), asks the provider about them RECEIPT_POLL_CONCURRENCY at a
 * time, and
 * rounds go on until none is left or RECEIPT_POLL_BUDGET_MS is spent; the next sweep goes on from
 * there. When many SMS are silent, the provider's list of messages sent (a thousand per request)
 * settles most of them first.
 */
@Injectable()
export class SilentSendsService {
  private readonly logger = new Logger(SilentSendsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(ConfigService) private readonly config: ConfigService,
    private readonly channels: ChannelRegistry,
    private readonly events: DeliveryEventsService,
  ) {}

  /** Asks the provider about silent sends; the number whose status was applied. */
  async poll(): Promise<number> {
    const after = Number(this.config.get('RECEIPT_POLL_AFTER_SECONDS') ?? 600);
    const concurrency = Number(this.config.get('RECEIPT_POLL_CONCURRENCY') ?? 8);
    const deadline = Date.now() + Number(this.config.get('RECEIPT_POLL_BUDGET_MS') ?? 20_000);
    let applied = 0;
    let asked = 0;
    // The listing gets half of the time: what it could not reach (the oldest, when many newer
    // messages come first in the provider's list) is asked about one by one in the same sweep.
    const listingDeadline = Date.now() + (deadline - Date.now()) / 2;
    const listed = await this.pollSmsByListing(after, concurrency, listingDeadline);
    applied += listed.applied;
    asked += listed.asked;
    if (listed.unlisted.length) {
      const rest = listed.unlisted;
      asked += rest.length;
      let next = 0;
      const worker = async () => {
        // The deadline is checked before a send is taken, so that every one not asked is released.
        while (next < rest.length && Date.now() < deadline)
          if (await this.ask(rest[next++])) applied++;
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, rest.length) }, worker));
      // Not reached in time: askable again at once by the next sweep.
      if (next < rest.length) await this.release(rest.slice(next).map((a) => a.id));
    }
    while (Date.now() < deadline) {
      const batch = await this.claim(after, BATCH);
      if (!batch.length) break;
      asked += batch.length;
      let next = 0;
      const worker = async () => {
        for (let a = batch[next++]; a; a = batch[next++]) if (await this.ask(a)) applied++;
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
    }
    if (applied)
      this.logger.warn({ asked, applied }, 'applied statuses whose callbacks never came');
    return applied;
  }

  /**
   * Many silent SMS (a county's worth of lost delivery receipts): one listing of the messages the
   * provider sent since the oldest of them answers up to 1000 per request, where asking about each
   * takes a request each. The silent SMS are claimed like any other (so no other process asks
   * about them meanwhile); those listed but not final yet stay asked about, and those the listing
   * did not show (or could not, the list failing or its time running out) are asked about one by
   * one by the caller, in the same sweep.
   */
  private async pollSmsByListing(
    afterSeconds: number,
    concurrency: number,
    deadline: number,
  ): Promise<{ asked: number; applied: number; unlisted: SilentSend[] }> {
    const sms = this.channels.sms;
    if (!sms.listSentSince) return { asked: 0, applied: 0, unlisted: [] };
    const claimed = await this.claim(afterSeconds, LIST_CLAIM, 'sms');
    if (!claimed.length) return { asked: 0, applied: 0, unlisted: [] };
    if (claimed.length < LIST_MIN) {
      await this.release(claimed.map((a) => a.id));
      return { asked: 0, applied: 0, unlisted: [] };
    }
    const wanted = new Map(claimed.map((a) => [a.providerId, a]));
    // The provider creates a message just before we record it sent: a minute's margin.
    const since = new Date(
      claimed.reduce((t, a) => Math.min(t, a.sentAt.getTime()), Infinity) - 60_000,
    );
    let applied = 0;
    try {
      await sms.listSentSince(since, async (page) => {
        const listed = page.filter((m) => wanted.has(m.providerId));
        const settled = listed.filter((m) => SMS_FINAL.has(m.status));
        // Listed but not final yet (no receipt from the carrier): the provider was asked; it is
        // asked again RECEIPT_POLL_AFTER_SECONDS later, not one by one in the rounds below.
        for (const m of listed) if (!SMS_FINAL.has(m.status)) wanted.delete(m.providerId);
        const pairs = settled.map((m) => ({ m, a: wanted.get(m.providerId)! }));
        for (const { m } of pairs) wanted.delete(m.providerId);
        // Receipts of delivery (nearly all of them) in one statement for the page; failures one
        // by one, as each is failed over.
        const delivered = pairs.filter((p) => p.m.status === 'delivered');
        const oneByOne = pairs.filter((p) => p.m.status !== 'delivered');
        if (delivered.length)
          try {
            await this.events.smsDeliveredMany(
              delivered.map((p) => ({ attemptId: p.a.id, messageSid: p.m.providerId })),
            );
            applied += delivered.length;
          } catch (err) {
            this.logger.warn({ err }, 'could not apply a page of receipts at once: one by one');
            oneByOne.push(...delivered);
          }
        let next = 0;
        const worker = async () => {
          for (let p = oneByOne[next++]; p; p = oneByOne[next++])
            if (await this.applySms(p.a, p.m)) applied++;
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, oneByOne.length) }, worker));
        const oldest = page.length ? Math.min(...page.map((m) => m.at.getTime())) : 0;
        return wanted.size > 0 && oldest >= since.getTime() && Date.now() < deadline;
      });
    } catch (err) {
      this.logger.warn({ err }, 'could not list the messages sent: asking about each instead');
    }
    // Claimed but not listed (the list failed, or did not reach them in time): still claimed,
    // for the caller to ask about one by one.
    return { asked: claimed.length - wanted.size, applied, unlisted: [...wanted.values()] };
  }

  /** Applies a final SMS status the provider gave; true when applied. */
  private async applySms(
    a: SilentSend,
    s: { status: string; errorCode?: string },
  ): Promise<boolean> {
    try {
      await this.events.smsStatus({
        messageSid: a.providerId,
        status: s.status,
        errorCode: s.errorCode,
        attemptId: a.id,
      });
      return true;
    } catch (err) {
      this.logger.warn({ attemptId: a.id, err }, 'could not apply the status of a send');
      return false;
    }
  }

  /** Makes claimed sends askable again at once (the next rounds ask about each). */
  private async release(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.db.query(
      `UPDATE contact_attempts SET status_asked_at = NULL WHERE id = ANY($1::uuid[]) AND status = 'sent'`,
      [ids],
    );
  }

  /**
   * Claims the next `limit` silent sends (of one channel, or any) not asked about lately: one
   * statement, safe across processes.
   */
  private claim(
    afterSeconds: number,
    limit: number,
    channel?: 'sms',
  ): Promise<(SilentSend & { sentAt: Date })[]> {
    return rows<SilentSend & { sentAt: Date }>(
      this.db,
      `UPDATE contact_attempts a SET status_asked_at = now()
          WHERE a.id IN (
            SELECT id FROM contact_attempts
             WHERE provider = 'twilio' AND status = 'sent' AND provider_id IS NOT NULL
               AND ($4::text IS NULL OR channel = $4)
               AND sent_at < now() - make_interval(secs => $1) AND sent_at > now() - interval '2 days'
               AND (status_asked_at IS NULL OR status_asked_at < now() - make_interval(secs => $3))
             ORDER BY sent_at LIMIT $2
             FOR UPDATE SKIP LOCKED)
        RETURNING a.id, a.channel, a.provider_id AS "providerId", a.sent_at AS "sentAt"`,
      [afterSeconds, limit, afterSeconds, channel ?? null],
    );
  }

  /** Asks about one send and applies a final status; true when one was applied. */
  private async ask(a: SilentSend): Promise<boolean> {
    try {
      if (a.channel === 'voice') {
        const s = await this.channels.voice.statusOf?.(a.providerId);
        if (!s || !CALL_FINAL.has(s.status)) return false;
        await this.events.callStatus(a.id, {
          callSid: a.providerId,
          status: s.status,
          duration: s.durationS,
          errorCode: s.errorCode,
        });
        return true;
      }
      const s = await this.channels.sms.statusOf?.(a.providerId);
      return !!s && SMS_FINAL.has(s.status) && (await this.applySms(a, s));
    } catch (err) {
      this.logger.warn({ attemptId: a.id, err }, 'could not ask the provider about a send');
      return false;
    }
  }
}
