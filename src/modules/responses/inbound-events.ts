import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../../config/env.validation';
import {
  renderReceivedSms,
  renderReceivedVoice,
  type ReceivedKind,
} from '../../templates/received';
import { isHazardReportSms } from '../hazard-reports/hazard-report-sms';
import { type AnswerResult, AnswersService } from '../chain/answers.service';
import type { KeypressCall } from '../chain/chain-moves.repository';
import { DeliveryEventsService } from './delivery-events.service';
import { parseSmsReply } from './sms-reply.parser';
import { type SmsReplyOutcome, SmsRepliesService } from './sms-replies.service';

/**
 * What a person told us, once its signature is verified and its body parsed: a keypress (or a
 * message heard to the end) on a call, an SMS reply, an answer by confirmation link. Carries what
 * recording it needs and nothing more (the SMS sender's number, needed to match the reply, is
 * never logged).
 */
export type InboundEvent =
  | { type: 'gather'; attemptId: string; callSid: string; digits: string; round: number }
  | { type: 'sms'; messageSid: string; from: string; body: string }
  | { type: 'link'; deliveryId: string; canonical: string; answer: 'confirm' | 'help' };

/**
 * Records inbound events: one code path for the webhook that records them at once and for the
 * inbound spool's worker, which records those received while Postgres was unreachable, with the
 * time they were received (`receivedAt`) as the answer's time.
 */
@Injectable()
export class InboundEvents {
  private readonly signature: string;

  constructor(
    private readonly events: DeliveryEventsService,
    private readonly replies: SmsRepliesService,
    private readonly answers: AnswersService,
    @Inject(ConfigService) config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.signature = (config.get('SMS_SIGNATURE' as never) as string | undefined) ?? '应急预警';
  }

  /**
   * A gather: a key (1 confirms, 2 asks for help, another is kept as ambiguous), or heard. For a
   * key, the call it was pressed on (undefined for an unknown attempt: nothing recorded).
   */
  async gather(
    e: Extract<InboundEvent, { type: 'gather' }>,
    receivedAt?: Date,
  ): Promise<KeypressCall | undefined> {
    if (e.digits)
      return this.events.keypress({
        attemptId: e.attemptId,
        digits: e.digits.trim(),
        callSid: e.callSid,
        round: e.round,
        receivedAt,
      });
    await this.events.heard(e.attemptId, receivedAt);
    return undefined;
  }

  /** An SMS reply: stored once per MessageSid, matched and recorded as an answer. */
  async sms(
    e: Extract<InboundEvent, { type: 'sms' }>,
    receivedAt?: Date,
  ): Promise<SmsReplyOutcome> {
    const message = { messageSid: e.messageSid, from: e.from, body: e.body };
    await this.events.inboundSms(message);
    return this.replies.handle({ ...message, receivedAt });
  }

  /** An answer by signed link (channel `link`), once per token and answer. */
  link(e: Extract<InboundEvent, { type: 'link' }>, receivedAt?: Date): Promise<AnswerResult> {
    return this.answers.record({
      deliveryId: e.deliveryId,
      kind: e.answer,
      channel: 'link',
      raw: e.answer,
      dedupeKey: `link:${e.canonical}:${e.answer}`,
      receivedAt,
    });
  }

  async apply(e: InboundEvent, receivedAt: Date): Promise<void> {
    if (e.type === 'gather') await this.gather(e, receivedAt);
    else if (e.type === 'sms') await this.sms(e, receivedAt);
    else await this.link(e, receivedAt);
  }

  /** The SMS answered to a reply kept in the spool: received (src/templates/received.ts). */
  receivedSms(body: string): string {
    return renderReceivedSms(receivedKindOfSms(body), { signature: this.signature });
  }
}

export function receivedKindOfSms(body: string): ReceivedKind {
  if (isHazardReportSms(body)) return 'other';
  const kind = parseSmsReply(body);
  return kind === 'ambiguous' ? 'other' : kind;
}

/** What the call says after a key kept in the spool ('' for no key or another key). */
export function receivedVoice(digits: string): string {
  const key = digits.trim();
  return renderReceivedVoice(key === '1' ? 'confirm' : key === '2' ? 'help' : 'other');
}
