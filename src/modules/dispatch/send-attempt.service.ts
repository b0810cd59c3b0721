import { Injectable, Logger } from '@nestjs/common';
import { ChannelError } from '../../channels/channel.types';
import { ChannelRegistry } from '../../channels/channel-registry';
import { ProviderBreakers } from '../../channels/resilience/provider-breakers';
import { PublicUrls } from '../../common/public-urls';
import type { PersonRole } from '../directory/directory.types';
import type { WarningContent } from '../warnings/warning.types';
import { WarningsRepository } from '../warnings/warnings.repository';
import { planFailover, type PersonChannel } from './contact-plan';
import { DispatchQueue } from './dispatch-queue.service';
import { type AttemptRow, DispatchRepository } from './dispatch.repository';
import { MessageRenderer } from './message-renderer';
import { ANSWERED, type DeliveryState } from '../chain/chain-states';
import { NoticesRepository } from '../chain/notices.repository';

export type SendOutcome = 'sent' | 'skipped' | 'failed' | 'retry';

/**
 * Sends one contact attempt. Delivery is at-least-once, so the attempt's row is re-read and
 * claimed first: a cancelled warning, an answer already given, or an attempt already sent means
 * nothing goes out. Transient failures are thrown for BullMQ to retry with backoff; permanent
 * ones fail the attempt at once and the person's chain moves on to their next contact point.
 */
@Injectable()
export class SendAttemptService {
  private readonly logger = new Logger(SendAttemptService.name);

  constructor(
    private readonly repo: DispatchRepository,
    private readonly warnings: WarningsRepository,
    private readonly channels: ChannelRegistry,
    private readonly breakers: ProviderBreakers,
    private readonly renderer: MessageRenderer,
    private readonly urls: PublicUrls,
    private readonly queue: DispatchQueue,
    private readonly notices: NoticesRepository,
  ) {}

  async send(attemptId: string, lastTry: boolean): Promise<SendOutcome> {
    const a = await this.repo.findAttempt(attemptId);
    if (!a || !['queued', 'sending'].includes(a.status)) return 'skipped';
    if (a.msgType !== 'cancel' && a.warningState !== 'active') {
      await this.repo.attemptCancelled(a.id, `warning_${a.warningState}`);
      return 'skipped';
    }
    // What stops a message follows from its purpose: the person's own alert stops at their
    // answer; a task SMS when its task is no longer open; a notice about someone else only when
    // everything it reports is resolved (never by the superior's answer to their own alert).
    let covers: string[] = [];
    if (a.purpose === 'notice') {
      const claimed = await this.notices.claim(a.id);
      if (!claimed) return 'skipped';
      if (!claimed.open) {
        await this.repo.attemptCancelled(a.id, 'resolved');
        return 'skipped';
      }
      covers = claimed.covers;
    } else {
      if (
        a.purpose === 'warning' &&
        a.msgType !== 'cancel' &&
        ANSWERED.includes(a.deliveryState as DeliveryState)
      ) {
        await this.repo.attemptCancelled(a.id, 'already_answered');
        return 'skipped';
      }
      if (a.purpose === 'task' && a.taskStatus !== 'open') {
        await this.repo.attemptCancelled(a.id, `task_${a.taskStatus ?? 'gone'}`);
        return 'skipped';
      }
      if (!(await this.repo.claimAttempt(a.id))) return 'skipped';
    }

    const provider = a.channel === 'email' ? 'smtp' : 'twilio';
    try {
      const receipt = await this.breakers.run(`${provider}:${a.channel}`, () =>
        this.dispatch(a, covers),
      );
      await this.repo.attemptSent(a.id, provider, receipt.providerId, receipt.segments);
      return 'sent';
    } catch (err) {
      const e =
        err instanceof ChannelError
          ? err
          : new ChannelError('transient', undefined, (err as Error).message);
      const retryable = e.kind === 'transient' || e.kind === 'rate_limited';
      if (retryable && !lastTry) {
        this.logger.warn(
          { attemptId: a.id, channel: a.channel, code: e.code, kind: e.kind },
          'send failed; will retry',
        );
        throw e;
      }
      await this.repo.attemptFailed(
        a.id,
        e.code,
        e.message,
        e.kind === 'circuit_open' ? 'circuit_open' : 'failed',
      );
      this.logger.warn(
        { attemptId: a.id, channel: a.channel, code: e.code, kind: e.kind },
        'attempt failed; failing over',
      );
      await this.failover(a);
      return 'failed';
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
    if (a.channel === 'manual') return;
    const purpose = a.purpose ?? 'warning';
    // An answered person's alert needs no other contact point (a notice to them still does).
    if (purpose === 'warning' && ANSWERED.includes((await this.repo.deliveryState(a.deliveryId))!))
      return;
    const tried = await this.repo.attemptsOfDelivery(a.deliveryId);
    const contacts = (await this.repo.contactsOf([a.personId])).get(a.personId) ?? [];
    const next = planFailover(
      { channel: a.channel as PersonChannel, address: a.address },
      contacts,
      tried,
    );
    if (!next) {
      await this.repo.markUnreachableIfExhausted(a.deliveryId);
      return;
    }
    if (purpose === 'notice') {
      await this.queue.enqueueAttempts(await this.notices.queue(a.deliveryId, [next], a.priority));
      return;
    }
    const seq = Math.max(...tried.map((t) => t.seq)) + 1;
    const queued = await this.repo.insertAttempts([
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

  private async dispatch(a: AttemptRow, covers: string[]) {
    const version = await this.warnings.findVersion(a.warningId, a.version);
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
    };
    if (a.purpose === 'notice') {
      const m = this.renderer.escalation(
        version.content,
        person,
        await this.notices.subjects(covers),
      );
      if (a.channel === 'voice') {
        return this.channels.voice.call({
          to: a.address,
          twimlUrl: this.urls.voiceTwiml(a.id),
          statusCallbackUrl: this.urls.voiceStatus(a.id),
        });
      }
      if (a.channel === 'email') {
        return this.channels.email.send({
          to: a.address,
          subject: m.text.slice(0, 60),
          text: m.text,
        });
      }
      return this.channels.sms.send({
        to: a.address,
        body: m.sms,
        statusCallbackUrl: this.urls.smsStatus(a.id),
      });
    }
    switch (a.channel) {
      case 'sms':
        return this.channels.sms.send({
          to: a.address,
          body: this.renderer.sms(version.content, a.msgType, person),
          statusCallbackUrl: this.urls.smsStatus(a.id),
        });
      case 'voice':
        return this.channels.voice.call({
          to: a.address,
          twimlUrl: this.urls.voiceTwiml(a.id),
          statusCallbackUrl: this.urls.voiceStatus(a.id),
        });
      case 'email': {
        const m = this.renderer.email(version.content, a.msgType, person);
        return this.channels.email.send({
          to: a.address,
          subject: m.subject,
          text: m.text,
          html: m.html,
          headers: { 'X-Warning-Id': version.content.nationalId, 'X-Attempt-Id': a.id },
        });
      }
      case 'manual':
        return this.channels.sms.send({
          to: a.address,
          body: await this.taskSms(a, version.content),
          statusCallbackUrl: this.urls.smsStatus(a.id),
        });
    }
  }
}
