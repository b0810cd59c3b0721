import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ChannelError } from '../../channels/channel.types';
import { ChannelRegistry } from '../../channels/channel-registry';
import { ProviderBreakers } from '../../channels/resilience/provider-breakers';
import { ProviderRateLimiter } from '../../channels/resilience/provider-rate-limiter';
import { ChannelRateLimits } from '../../channels/resilience/rate-limit-rules';
import { PublicUrls } from '../../common/public-urls';
import type { PersonRole } from '../../common/domain/directory.types';
import type { WarningContent } from '../../common/domain/warning.types';
import { WarningsRepository } from '../warnings/warnings.repository';
import { planFailover, type PersonChannel } from '../chain/contact-plan';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { type AttemptRow, DispatchRepository } from './dispatch.repository';
import { EntryMoves } from '../chain/entry-moves.repository';
import { SendMoves } from '../chain/send-moves.repository';
import { MessageRenderer } from './message-renderer';
import { AttemptBatches } from './attempt-batches';
import { NumberLimits } from './number-limits';
import { ANSWERED, type DeliveryState } from '../chain/chain-states';
import { NoticesRepository } from '../chain/notices.repository';
import { sendsDeferred } from '../../common/observability/metrics';

const SKIPPED: SendOutcome = { kind: 'skipped' };
/** Postgres unique_violation. */
const UNIQUE_VIOLATION = '23505';

/** What the provider said when it accepted a message, kept with the job until it is recorded. */
export interface AcceptedSend {
  provider: string;
  providerId: string;
  segments?: number;
}

export type SendOutcome =
  | { kind: 'sent' | 'skipped' | 'failed' }
  /** The provider's circuit is open: nothing was sent; try again after `delayMs`. */
  | { kind: 'deferred'; delayMs: number }
  /** The provider accepted it but recording that failed: record it later, never send it again. */
  | { kind: 'unrecorded'; accepted: AcceptedSend };

export interface SendOptions {
  /**
   * Longest this send waits in-process for a slot of the provider's rate (default 2 s): a batch
   * of first contacts waits for its whole second of the rate.
   */
  rateWaitMs?: number;
}

/** In-process tries at recording an accepted send before the job keeps it for a later try. */
const RECORD_TRIES = 3;
/** Waiting for a provider whose circuit is open, at least (its reset time when known). */
const MIN_DEFER_MS = 1_000;
/**
 * Longest a send waits in-process for a slot of the provider's shared rate limit; after that its
 * job is put back (no try spent) for at most RATE_DEFER_MAX_MS.
 */
export const RATE_WAIT_MS = 2_000;
const RATE_DEFER_MAX_MS = 1_000;
/** SEND_UNANSWERED_SETTLE_MS by default. */
const UNANSWERED_SETTLE_MS = 30_000;

/** An SMS's text as a try sent it (set once rendered, before the request). */
interface SentText {
  body?: string;
}

/**
 * Sends one contact attempt. Delivery is at-least-once, so the attempt's row is re-read and
 * claimed first: a cancelled warning, an answer already given, or an attempt already sent means
 * nothing goes out. Transient failures are thrown for BullMQ to retry with backoff; permanent
 * ones fail the attempt at once and the person's chain moves on to their next contact point.
 */
@Injectable()
export class SendAttemptService {
  private readonly logger = new Logger(SendAttemptService.name);
  /** SEND_UNANSWERED_SETTLE_MS: how long a provider may still take a request it left unanswered. */
  private readonly unansweredSettleMs: number;

  constructor(
    private readonly repo: DispatchRepository,
    private readonly entries: EntryMoves,
    private readonly sendMoves: SendMoves,
    private readonly warnings: WarningsRepository,
    private readonly channels: ChannelRegistry,
    private readonly breakers: ProviderBreakers,
    private readonly renderer: MessageRenderer,
    private readonly urls: PublicUrls,
    private readonly queue: DispatchQueue,
    private readonly notices: NoticesRepository,
    private readonly batches: AttemptBatches,
    private readonly numberLimits: NumberLimits,
    private readonly limiter: ProviderRateLimiter,
    private readonly limits: ChannelRateLimits,
    config: ConfigService,
  ) {
    const settle = Number(config.get('SEND_UNANSWERED_SETTLE_MS') ?? UNANSWERED_SETTLE_MS);
    this.unansweredSettleMs =
      Number.isFinite(settle) && settle >= 0 ? settle : UNANSWERED_SETTLE_MS;
  }

  /**
   * `accepted`: a provider's acceptance of this attempt that an earlier try could not record
   * (kept in the job): it is recorded now, and nothing is sent.
   */
  async send(
    attemptId: string,
    lastTry: boolean,
    accepted?: AcceptedSend,
    opts: SendOptions = {},
  ): Promise<SendOutcome> {
    if (accepted) return this.recordAccepted(attemptId, accepted);
    const a = await this.batches.find(attemptId);
    if (!a || !['queued', 'sending'].includes(a.status)) return SKIPPED;
    if (a.msgType !== 'cancel' && a.warningState !== 'active') {
      await this.sendMoves.cancel(a.id, `warning_${a.warningState}`);
      return SKIPPED;
    }
    // The provider left this send's last request unanswered: it may still accept it (a request
    // held up on its way). Asked now, it could say "not here" and the message go out twice: the
    // send waits (unclaimed, no try spent) until the provider has had the time to take it.
    const settling =
      a.status === 'sending' && a.unansweredForMs !== null
        ? this.unansweredSettleMs - a.unansweredForMs
        : 0;
    if (settling > 0) return { kind: 'deferred', delayMs: Math.max(settling, MIN_DEFER_MS) };
    // This run's claim: a second run of the same job (BullMQ's, once the first's lock ran out)
    // leaves it alone while this run lives.
    const token = randomUUID();
    const provider = a.channel === 'email' ? 'smtp' : 'twilio';
    const breaker = `${provider}:${a.channel}`;
    // A provider whose circuit is open is not a failure of this person's contact point: the send
    // waits (unclaimed, no try spent) until the provider is tried again.
    const waitMs = this.breakers.retryAfterMs(breaker);
    if (waitMs !== undefined) {
      sendsDeferred().inc({ provider: breaker });
      return { kind: 'deferred', delayMs: Math.max(waitMs, MIN_DEFER_MS) };
    }
    // What stops a message follows from its purpose: the person's own alert stops at their
    // answer; a task SMS when its task is no longer open; a notice about someone else only when
    // everything it reports is resolved (never by the superior's answer to their own alert).
    let covers: string[] = [];
    if (a.purpose === 'notice') {
      const claimed = await this.notices.claim(a.id, token, this.batches.leaseSeconds);
      if (!claimed) return this.claimRefused(a.id);
      if (!claimed.open) {
        // Everything it would report was resolved, or reported on this channel already.
        await this.sendMoves.cancel(a.id, claimed.covers.length ? 'resolved' : 'nothing_new');
        return SKIPPED;
      }
      covers = claimed.covers;
    } else {
      if (
        a.purpose === 'warning' &&
        a.msgType !== 'cancel' &&
        ANSWERED.includes(a.deliveryState as DeliveryState)
      ) {
        await this.sendMoves.cancel(a.id, 'already_answered');
        return SKIPPED;
      }
      if (a.purpose === 'task' && a.taskStatus !== 'open') {
        await this.sendMoves.cancel(a.id, `task_${a.taskStatus ?? 'gone'}`);
        return SKIPPED;
      }
      if (!(await this.batches.claim(a.id, token))) return this.claimRefused(a.id);
    }
    // The text of an SMS as this try sent it: kept with a request left unanswered.
    const sent: SentText = {};
    try {
      const out = await this.sendClaimed(a, covers, token, lastTry, breaker, provider, opts, sent);
      // Kept in the job for recording: this run ends, the next records without claiming.
      if (out.kind === 'unrecorded') await this.letGo(a.id, token);
      return out;
    } catch (err) {
      // The try failed and BullMQ tries again: the next run takes the claim at once (after the
      // provider's time to take a request it left unanswered).
      const unanswered = err instanceof ChannelError && err.unanswered;
      await this.letGo(a.id, token, unanswered, unanswered ? sent.body : undefined);
      throw err;
    }
  }

  /** What follows a claim this run holds (`token`): ask, limit, send, record. */
  private async sendClaimed(
    a: AttemptRow,
    covers: string[],
    token: string,
    lastTry: boolean,
    breaker: string,
    provider: string,
    opts: SendOptions,
    sent: SentText,
  ): Promise<SendOutcome> {
    // Claimed before by a try that recorded nothing (its worker killed between the provider's
    // acceptance and the record, its job run again when its lock ran out): the provider may have
    // it. Asked first; found there, it is recorded and not sent again. A provider that cannot be
    // asked makes this try fail (the job tries again; the stuck-send sweep asks later).
    if (a.status === 'sending' && (await this.reconcile(a.id))) return { kind: 'sent' };

    // The carrier's cap on what one number may receive: wait for a short window, else move on.
    if (a.channel !== 'email') {
      const verdict = await this.numberLimits.check(
        a.id,
        a.channel === 'voice' ? 'voice' : 'sms',
        a.address,
      );
      if (verdict.kind === 'wait') {
        await this.sendMoves.release(a.id, token);
        return { kind: 'deferred', delayMs: Math.max(verdict.ms, MIN_DEFER_MS) };
      }
      if (verdict.kind === 'refused') {
        await this.sendMoves.fail(a.id, 'number_limit', verdict.reason, 'number_limit');
        this.logger.warn(
          { attemptId: a.id, channel: a.channel, rule: verdict.rule },
          'carrier limit of the number reached; failing over',
        );
        await this.failover(a);
        return { kind: 'failed' };
      }
    }

    // The provider's rate, shared with the hazard-report notices (which go first): the queue's
    // own limiter paces the warning sends, this budget holds for everything sent to Twilio.
    if (a.channel !== 'email') {
      try {
        await this.limiter.acquireFor(
          a.channel === 'voice' ? this.limits.voice() : this.limits.sms(),
          { maxWaitMs: opts.rateWaitMs ?? RATE_WAIT_MS, lane: 'normal' },
        );
      } catch (err) {
        await this.sendMoves.release(a.id, token);
        if (!(err instanceof ChannelError) || err.kind !== 'rate_limited') throw err;
        return {
          kind: 'deferred',
          delayMs: Math.min(Math.max(err.retryAfterMs ?? 0, 50), RATE_DEFER_MAX_MS),
        };
      }
    }

    let receipt: { providerId: string; segments?: number };
    try {
      receipt = await this.breakers.run(breaker, () => this.dispatch(a, covers, sent));
    } catch (err) {
      const e =
        err instanceof ChannelError
          ? err
          : new ChannelError('transient', undefined, (err as Error).message);
      if (e.kind === 'circuit_open') {
        // The circuit opened between the check and the call: nothing reached the provider.
        await this.sendMoves.release(a.id, token);
        sendsDeferred().inc({ provider: breaker });
        return { kind: 'deferred', delayMs: Math.max(e.retryAfterMs ?? 0, MIN_DEFER_MS) };
      }
      const retryable = e.kind === 'transient' || e.kind === 'rate_limited';
      if (retryable && !lastTry) {
        this.logger.warn(
          { attemptId: a.id, channel: a.channel, code: e.code, kind: e.kind },
          'send failed; will retry',
        );
        throw e;
      }
      await this.sendMoves.fail(a.id, e.code, e.message, 'failed');
      this.logger.warn(
        { attemptId: a.id, channel: a.channel, code: e.code, kind: e.kind },
        'attempt failed; failing over',
      );
      await this.failover(a);
      return { kind: 'failed' };
    }
    // Accepted by the provider: from here on, nothing may send this message again. An error now
    // is a recording problem, never a reason to resend.
    return this.recordAccepted(a.id, {
      provider,
      providerId: receipt.providerId,
      segments: receipt.segments,
    });
  }

  /**
   * The claim was not taken: the send is done (or stopped), or another run holds it. A held claim
   * is waited out (no try spent): its run records the send or lets go; a run killed mid-send is
   * taken over when its lease runs out, the provider asked first.
   */
  private async claimRefused(attemptId: string): Promise<SendOutcome> {
    const held = await this.sendMoves.claimHeld(attemptId, this.batches.leaseSeconds);
    if (held?.status !== 'sending') return SKIPPED;
    this.logger.warn({ attemptId }, 'send held by another run of its job; waiting');
    return { kind: 'deferred', delayMs: Math.max(held.waitMs, MIN_DEFER_MS) };
  }

  /** Lets go of this run's claim; a failure only leaves the lease to run out. */
  private async letGo(
    attemptId: string,
    token: string,
    unanswered = false,
    body?: string,
  ): Promise<void> {
    await this.sendMoves.letGo(attemptId, token, unanswered, body).catch((err: unknown) => {
      this.logger.warn({ attemptId, err }, 'could not let go of a send claim; its lease runs out');
    });
  }

  /**
   * Records a provider's acceptance, trying a few times in-process. A provider id already
   * recorded on another attempt (a replayed response) is recorded as sent without it. When the
   * database still refuses, the acceptance goes back to the job, which records it on a later try.
   */
  private async recordAccepted(attemptId: string, accepted: AcceptedSend): Promise<SendOutcome> {
    for (let i = 1; ; i++) {
      try {
        await this.batches.recordSent({ id: attemptId, ...accepted });
        return { kind: 'sent' };
      } catch (err) {
        if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
          await this.sendMoves.markSentWithoutId(attemptId, accepted.provider, accepted.segments);
          this.logger.warn({ attemptId }, 'provider id already recorded elsewhere; kept as sent');
          return { kind: 'sent' };
        }
        this.logger.warn(
          { attemptId, try: i, err },
          'recording an accepted send failed; it will not be sent again',
        );
        if (i >= RECORD_TRIES) return { kind: 'unrecorded', accepted };
        await new Promise((r) => setTimeout(r, 200 * 2 ** i));
      }
    }
  }

  /** The person's next contact point that has not been tried, or unreachable when none is left. */
  async failover(
    a: Pick<
      AttemptRow,
      | 'id'
      | 'deliveryId'
      | 'warningId'
      | 'version'
      | 'msgType'
      | 'channel'
      | 'address'
      | 'priority'
      | 'personId'
    > & { purpose?: AttemptRow['purpose'] },
  ): Promise<void> {
    if (a.channel === 'manual') {
      // A door-to-door task whose SMS never reached its assignee: when nothing else can still
      // reach the person, they are unreachable (and say why), not `sent` for good.
      await this.sendMoves.markUnreachableIfExhausted(a.deliveryId);
      return;
    }
    const purpose = a.purpose ?? 'warning';
    // An answered person's alert needs no other contact point (a notice to them still does).
    if (purpose === 'warning' && ANSWERED.includes((await this.repo.deliveryState(a.deliveryId))!))
      return;
    const all = await this.repo.attemptsOfDelivery(a.deliveryId);
    // Tried for this message: a number a notice about others called has not had the person's
    // own alert (and the other way round).
    const tried = all.filter((t) => (t.purpose === 'notice') === (purpose === 'notice'));
    const contacts = (await this.repo.contactsOf([a.personId])).get(a.personId) ?? [];
    const next = planFailover(
      { channel: a.channel as PersonChannel, address: a.address },
      contacts,
      tried,
    );
    if (!next) {
      await this.sendMoves.markUnreachableIfExhausted(a.deliveryId);
      return;
    }
    if (purpose === 'notice') {
      await this.queue.enqueueAttempts(await this.notices.queue(a.deliveryId, [next], a.priority));
      return;
    }
    const seq = Math.max(...all.map((t) => t.seq)) + 1;
    const queued = await this.entries.addAttempts([
      {
        deliveryId: a.deliveryId,
        warningId: a.warningId,
        version: a.version,
        msgType: a.msgType,
        seq,
        planned: next,
        priority: a.priority,
      },
    ]);
    await this.queue.enqueueAttempts(
      queued
        .filter((q) => q.channel === next.channel)
        .map((q) => ({ id: q.id, channel: q.channel, priority: q.priority })),
    );
  }

  /** The SMS that hands a grid member their door-to-door or gong-and-whistle task. */
  private async taskSms(a: AttemptRow, content: WarningContent): Promise<string> {
    const [task] = await this.repo.db.query(
      `SELECT t.type, t.number, g.name AS grid, s.name AS subject,
              (SELECT value FROM contact_points WHERE person_id = s.id AND kind IN ('mobile', 'landline') ORDER BY priority LIMIT 1) AS phone
         FROM contact_attempts a JOIN manual_tasks t ON t.id = a.task_id JOIN grids g ON g.code = t.grid_code
         LEFT JOIN deliveries sd ON sd.id = t.subject_delivery_id LEFT JOIN people s ON s.id = sd.person_id
        WHERE a.id = $1`,
      [a.id],
    );
    if (!task) throw new ChannelError('permanent', undefined, `attempt ${a.id} carries no task`);
    return this.renderer.manualTask(content, {
      type: task.type,
      number: task.number,
      area: task.grid,
      targets: task.subject ? [{ name: task.subject }] : undefined,
    });
  }

  /** What one person receives on this attempt's channel, and its warning version. */
  private async compose(a: AttemptRow, covers: string[]) {
    const version = await this.warnings.sharedVersion(a.warningId, a.version);
    if (!version)
      throw new ChannelError(
        'permanent',
        undefined,
        `version ${a.version} of warning ${a.warningId} not found`,
      );
    const person = {
      name: a.personName,
      role: a.personRole as PersonRole,
      deliveryId: a.deliveryId,
      dropped: await this.repo.droppedArea(a, version.msgType),
    };
    const notice =
      a.purpose === 'notice'
        ? this.renderer.escalation(version.content, person, await this.notices.subjects(covers))
        : undefined;
    return { version, person, notice, previous: await this.warnings.previousOf(version) };
  }

  /** The body of an SMS-borne attempt (the alert, a notice, a task), as it is sent. */
  private async smsBody(a: AttemptRow, covers: string[]): Promise<string> {
    const { version, person, notice, previous } = await this.compose(a, covers);
    if (notice) return notice.sms;
    if (a.channel === 'manual') return this.taskSms(a, version.content);
    return this.renderer.sms(version.content, a.msgType, person, previous);
  }

  /**
   * A send left `sending` with nothing recorded: does the provider have it? Asked before it is
   * sent again or failed over (a message accepted as Postgres went away must not go twice): an
   * SMS with the same body to the number, or a call to it, since the attempt was claimed and not
   * recorded on another attempt. Found: recorded as sent, true.
   */
  async reconcile(attemptId: string): Promise<boolean> {
    const a = await this.repo.findAttempt(attemptId);
    if (!a) return false;
    // Recorded meanwhile (the provider's callback named it): there is nothing to send again.
    if (a.providerId) return true;
    if (a.status !== 'sending') return false;
    // Sent after it was queued: a minute of slack for the provider's clock.
    const since = new Date(new Date(a.queuedAt).getTime() - 60_000);
    const exclude = await this.repo.recordedProviderIds('twilio', a.address, since, a.id);
    let found: { providerId: string; segments?: number } | undefined;
    if (a.channel === 'sms' || a.channel === 'manual') {
      // The text as it was sent when its request went unanswered, else as it renders now.
      const body = a.unansweredBody ?? (await this.smsBody(a, a.covers ?? []));
      found = await this.channels.sms.findSent?.({ to: a.address, body, since, exclude });
    } else if (a.channel === 'voice') {
      found = await this.channels.voice.findPlaced?.({ to: a.address, since, exclude });
    }
    if (!found) {
      // A callback may have recorded it while the provider was asked.
      const again = await this.repo.findAttempt(attemptId);
      return !!again?.providerId;
    }
    await this.sendMoves.markSent(a.id, 'twilio', found.providerId, found.segments);
    this.logger.warn({ attemptId: a.id }, 'stuck send found at the provider: recorded, not resent');
    return true;
  }

  private async dispatch(a: AttemptRow, covers: string[], sent: SentText = {}) {
    if (a.channel === 'sms' || a.channel === 'manual') {
      sent.body = await this.smsBody(a, covers);
      return this.channels.sms.send({
        to: a.address,
        body: sent.body,
        statusCallbackUrl: this.urls.smsStatus(a.id),
      });
    }
    if (a.channel === 'voice') {
      return this.channels.voice.call({
        to: a.address,
        twimlUrl: this.urls.voiceTwiml(a.id),
        statusCallbackUrl: this.urls.voiceStatus(a.id),
      });
    }
    const { version, person, notice, previous } = await this.compose(a, covers);
    if (notice) {
      return this.channels.email.send({
        to: a.address,
        subject: notice.text.slice(0, 60),
        text: notice.text,
      });
    }
    const m = this.renderer.email(version.content, a.msgType, person, previous);
    return this.channels.email.send({
      to: a.address,
      subject: m.subject,
      text: m.text,
      html: m.html,
      headers: { 'X-Warning-Id': version.content.nationalId, 'X-Attempt-Id': a.id },
    });
  }
}
