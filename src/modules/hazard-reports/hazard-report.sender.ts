import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ChannelError, type SendReceipt } from '../../channels/channel.types';
import { ChannelRegistry } from '../../channels/channel-registry';
import { ProviderBreakers } from '../../channels/resilience/provider-breakers';
import { ProviderRateLimiter } from '../../channels/resilience/provider-rate-limiter';
import { ChannelRateLimits } from '../../channels/resilience/rate-limit-rules';
import { PublicUrls } from '../../common/public-urls';
import type { GroupSendOutcome } from '../dispatch/send-group.service';
import { claimLeaseSeconds } from '../chain/send-claims';
import { HazardReportLinks } from './hazard-report-links';
import { HazardReportQueue } from './hazard-report.queue';
import {
  directNoticeSms,
  reportCallScripts,
  reportEscalationSms,
  reportNoticeSms,
  type ReportSmsContext,
} from '../../templates/hazard-report';
import {
  type HazardReportRow,
  HazardReportsRepository,
  type NoticeRow,
  type NoticeToWrite,
} from './hazard-reports.repository';

/** What one notice job came to; the same shapes as a group send's (deferred, unrecorded…). */
export type NoticeOutcome = GroupSendOutcome;

/** A notice as `deliver` read it. */
type ClaimedNotice = NonNullable<Awaited<ReturnType<HazardReportsRepository['findNotice']>>>;

/** Longest a notice waits for a slot of the provider's rate limit before its job is retried. */
const RATE_LIMIT_MAX_WAIT_MS = 10_000;
/** Waiting for a provider whose circuit is open, at least. */
const MIN_DEFER_MS = 1_000;
/** A notice that found no slot within RATE_LIMIT_MAX_WAIT_MS looks again within this. */
const RATE_DEFER_MAX_MS = 1_000;
/** In-process tries at recording an accepted send before the job keeps it for a later try. */
const RECORD_TRIES = 3;
/** Looking for a lost send at the provider: messages created this long before the notice count. */
const PROVIDER_CLOCK_SLACK_MS = 60_000;

/**
 * A report's notices to duty offices. `notify` writes each one (`queued`, with the number) and
 * queues a job per notice; `deliver` (the job) sends it as warning sends are sent: through the
 * provider's rate limit (ProviderRateLimiter) and circuit breaker (ProviderBreakers), transient
 * errors thrown for BullMQ to retry with backoff, a permanent error or the last try failing it.
 */
@Injectable()
export class HazardReportSender {
  private readonly logger = new Logger(HazardReportSender.name);

  constructor(
    private readonly registry: ChannelRegistry,
    private readonly breakers: ProviderBreakers,
    private readonly limiter: ProviderRateLimiter,
    private readonly limits: ChannelRateLimits,
    private readonly repo: HazardReportsRepository,
    private readonly urls: PublicUrls,
    private readonly queue: HazardReportQueue,
    private readonly links: HazardReportLinks,
    config: ConfigService,
  ) {
    this.leaseSeconds = claimLeaseSeconds(config);
  }

  /** SEND_CLAIM_LEASE_SECONDS: how long a run's claim holds while the run is silent. */
  private readonly leaseSeconds: number;

  /** The TwiML a report call fetches (read, then a keypress 1 acknowledges). */
  twimlUrl(noticeId: string): string {
    return `${this.urls.base}/webhooks/hazard-reports/voice/${noticeId}/twiml`;
  }

  gatherUrl(noticeId: string): string {
    return `${this.urls.base}/webhooks/hazard-reports/voice/${noticeId}/gather`;
  }

  statusUrl(channel: 'sms' | 'voice', noticeId: string): string {
    return `${this.urls.base}/webhooks/hazard-reports/${channel}/${noticeId}/status`;
  }

  /**
   * Writes the notices planned (one per person, channel and contact point) and queues them; answers
   * their ids. A failover written already for the same failed notice is neither written nor queued.
   */
  async notify(list: NoticeToWrite[]): Promise<{ queued: number; ids: string[] }> {
    if (!list.length) return { queued: 0, ids: [] };
    const ids = await this.repo.insertNotices(list);
    // If queueing fails (the queue backend is down), the sweep queues them again from Postgres.
    await this.queue.enqueueNotices(ids);
    return { queued: ids.length, ids };
  }

  /**
   * Sends one notice (a job; at-least-once): re-read and claimed first, so a notice already sent
   * is never sent again. `accepted`: the provider's acceptance an earlier try could not record.
   */
  async deliver(
    noticeId: string,
    lastTry: boolean,
    accepted?: { providerId: string },
  ): Promise<NoticeOutcome> {
    if (accepted) return this.record(noticeId, accepted.providerId);
    const n = await this.repo.findNotice(noticeId);
    if (!n || !['queued', 'sending'].includes(n.status) || !n.address) return { kind: 'skipped' };
    const report = await this.repo.find(n.reportId);
    if (!report) return { kind: 'skipped' };
    if (n.status === 'sending') {
      // An earlier try claimed it and left no result (its process died after the provider
      // accepted, or the acceptance it kept was lost with its job): the provider is asked first,
      // and what it has is recorded, never sent again.
      const found = await this.sentBefore(n, report);
      if (found) {
        this.logger.warn(
          { reportId: n.reportId, noticeId: n.id, channel: n.channel },
          'stuck hazard report notice found at the provider: recorded, not resent',
        );
        return this.record(n.id, found.providerId);
      }
    }
    if (
      n.purpose === 'escalation' &&
      (await this.repo.acks(report.id)).some((a) => a.level === 'city')
    ) {
      // The city acknowledged while the reminder waited: it is no longer needed.
      await this.repo.finishNotice(n.id, { status: 'cancelled', error: 'city_acknowledged' });
      return { kind: 'skipped' };
    }
    if (
      n.purpose === 'report' &&
      (n.level === 'county' || n.level === 'city') &&
      (await this.repo.acks(report.id)).some((a) => a.level === n.level)
    ) {
      // The office acknowledged while this step's SMS or call waited (for a rate-limit slot, or
      // an open circuit): its chain has stopped, and so does this.
      await this.repo.finishNotice(n.id, { status: 'cancelled', error: 'acknowledged' });
      return { kind: 'skipped' };
    }
    const channel = n.channel === 'voice' ? 'voice' : 'sms';
    const breaker = `twilio:${channel}`;
    const waitMs = this.breakers.retryAfterMs(breaker);
    if (waitMs !== undefined) return { kind: 'deferred', delayMs: Math.max(waitMs, MIN_DEFER_MS) };
    // This run's claim: a second run of the same job (its lock ran out while this one lives)
    // leaves it alone and waits, instead of asking the provider before this run's send landed.
    const token = randomUUID();
    if (!(await this.repo.claimNotice(n.id, token, this.leaseSeconds))) {
      const held = await this.repo.noticeClaimHeld(n.id, this.leaseSeconds);
      if (held?.status !== 'sending') return { kind: 'skipped' };
      this.logger.warn({ noticeId: n.id }, 'hazard report notice held by another run; waiting');
      return { kind: 'deferred', delayMs: Math.max(held.waitMs, MIN_DEFER_MS) };
    }
    try {
      const out = await this.sendClaimed(n, report, token, channel, breaker, lastTry);
      if (out.kind === 'unrecorded') await this.letGo(n.id, token);
      return out;
    } catch (err) {
      await this.letGo(n.id, token);
      throw err;
    }
  }

  /** A run ends without a result: the next run takes its claim at once (and asks first). */
  private async letGo(noticeId: string, token: string): Promise<void> {
    await this.repo.letGoNotice(noticeId, token).catch((err: unknown) => {
      this.logger.warn({ noticeId, err }, 'could not let go of a notice claim; its lease runs out');
    });
  }

  /** What follows a claim this run holds (`token`): a rate slot, the send, the record. */
  private async sendClaimed(
    n: ClaimedNotice,
    report: HazardReportRow,
    token: string,
    channel: 'sms' | 'voice',
    breaker: string,
    lastTry: boolean,
  ): Promise<NoticeOutcome> {
    // The provider's budget is the one warning sends draw from (same key); a notice takes its
    // priority lane, so the sends of a fan-out leave the next free slot to it.
    try {
      await this.limiter.acquireFor(channel === 'voice' ? this.limits.voice() : this.limits.sms(), {
        maxWaitMs: RATE_LIMIT_MAX_WAIT_MS,
        lane: 'priority',
      });
    } catch (err) {
      if (!(err instanceof ChannelError) || err.kind !== 'rate_limited') throw err;
      // No slot yet: back in the queue, no try spent.
      await this.repo.releaseNotice(n.id, token);
      return {
        kind: 'deferred',
        delayMs: Math.min(Math.max(err.retryAfterMs ?? 0, 50), RATE_DEFER_MAX_MS),
      };
    }
    let providerId: string;
    try {
      const receipt = await this.breakers.run(breaker, () =>
        channel === 'voice'
          ? this.registry.voice.call({
              to: n.address as string,
              twimlUrl: this.twimlUrl(n.id),
              statusCallbackUrl: this.statusUrl('voice', n.id),
              ringTimeoutSec: 30,
            })
          : this.registry.sms.send({
              to: n.address as string,
              body: this.smsBody(report, n),
              statusCallbackUrl: this.statusUrl('sms', n.id),
            }),
      );
      providerId = receipt.providerId;
    } catch (err) {
      const e =
        err instanceof ChannelError
          ? err
          : new ChannelError('transient', undefined, (err as Error).message);
      if (e.kind === 'circuit_open') {
        await this.repo.releaseNotice(n.id, token);
        return { kind: 'deferred', delayMs: Math.max(e.retryAfterMs ?? 0, MIN_DEFER_MS) };
      }
      const retryable = e.kind === 'transient' || e.kind === 'rate_limited';
      this.logger.warn(
        { reportId: n.reportId, noticeId: n.id, channel, code: e.code, kind: e.kind },
        retryable && !lastTry
          ? 'hazard report notice failed; will retry'
          : 'hazard report notice failed',
      );
      if (retryable && !lastTry) throw e;
      await this.repo.finishNotice(n.id, { status: 'failed', error: e.message });
      return { kind: 'failed' };
    }
    // Accepted: from here on nothing sends it again; an error now is a recording problem.
    return this.record(n.id, providerId);
  }

  /**
   * What an SMS notice says (the call reads callScripts); a notice to a duty office carries its
   * signed acknowledgement link.
   */
  smsBody(
    report: HazardReportRow,
    notice: {
      id: string;
      purpose: NoticeRow['purpose'];
      level: NoticeRow['level'];
      directNoticeId?: string | null;
    },
  ): string {
    if (notice.purpose === 'direct_notice') {
      const record = report.directNotices.find((d) => d.id && d.id === notice.directNoticeId);
      return directNoticeSms({
        reportId: report.id,
        placeName: report.placeName,
        observed: report.observed,
        by: record?.by ?? report.reporter.name,
      });
    }
    const ctx = {
      ...smsContext(report),
      ...(notice.level === 'county_responsible'
        ? { informOnly: true }
        : { ackUrl: this.links.url(notice.id, new Date(report.createdAt)) }),
    };
    if (notice.purpose === 'report') return reportNoticeSms(ctx);
    const at = report.escalatedAt ? new Date(report.escalatedAt) : new Date();
    const minutes = Math.floor((at.getTime() - new Date(report.createdAt).getTime()) / 60_000);
    return reportEscalationSms({ ...ctx, minutes });
  }

  /** What a call about the report reads. */
  callScripts(report: HazardReportRow, purpose: NoticeRow['purpose']) {
    return reportCallScripts({ ...smsContext(report), escalation: purpose === 'escalation' });
  }

  /**
   * The message or call the provider has for a notice left `sending`: the same SMS text to the
   * number, or a call to it, since the notice was written and not recorded by another notice or a
   * warning send (the channels' findSent / findPlaced). A provider that cannot be asked now is a
   * transient error (the job is tried again later), never a reason to send again.
   */
  private async sentBefore(
    n: {
      id: string;
      channel: string;
      address: string | null;
      createdAt: Date;
      directNoticeId?: string | null;
    } & Pick<NoticeRow, 'purpose' | 'level'>,
    report: HazardReportRow,
  ): Promise<SendReceipt | undefined> {
    if (!n.address) return undefined;
    const since = new Date(new Date(n.createdAt).getTime() - PROVIDER_CLOCK_SLACK_MS);
    try {
      const exclude = await this.repo.recordedProviderIds(n.address, since);
      return n.channel === 'voice'
        ? await this.registry.voice.findPlaced?.({ to: n.address, since, exclude })
        : await this.registry.sms.findSent?.({
            to: n.address,
            body: this.smsBody(report, n),
            since,
            exclude,
          });
    } catch (err) {
      throw err instanceof ChannelError
        ? err
        : new ChannelError('transient', undefined, (err as Error).message);
    }
  }

  private async record(noticeId: string, providerId: string): Promise<NoticeOutcome> {
    for (let i = 1; ; i++) {
      try {
        await this.repo.finishNotice(noticeId, { status: 'sent', providerId });
        return { kind: 'sent' };
      } catch (err) {
        this.logger.warn({ noticeId, try: i, err }, 'recording a hazard report notice failed');
        if (i >= RECORD_TRIES) return { kind: 'unrecorded', accepted: { providerId } };
        await new Promise((r) => setTimeout(r, 200 * 2 ** i));
      }
    }
  }
}

export function smsContext(report: HazardReportRow): ReportSmsContext {
  return {
    reportId: report.id,
    placeName: report.placeName,
    grade: report.grade,
    peopleThreatened: report.peopleThreatened,
    observed: report.observed,
    reporterName: report.reporter.name,
    reporterPhone: report.reporter.phone,
    cityDeadline: report.cityDeadlineAt ? new Date(report.cityDeadlineAt) : undefined,
  };
}
