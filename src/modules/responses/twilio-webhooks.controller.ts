import { Body, Controller, Headers, HttpCode, Logger, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { UuidPipe } from '../../common/http/params';
import type { Request, Response } from 'express';
import {
  parseCallStatusEvent,
  parseGatherEvent,
  parseInboundSmsEvent,
  parseSmsStatusEvent,
  publicWebhookUrl,
  type TwilioParams,
  TwilioWebhookVerifier,
} from '../../channels/twilio/twilio-webhook';
import { smsReplyTwiml } from '../../channels/sms/sms-twiml';
import {
  gatherOutcome,
  gatherReplyTwiml,
  sayAndHangUpTwiml,
  warningCallTwiml,
} from '../../channels/voice/twiml';
import { WebhookAdmission } from '../../common/http/webhook-admission';
import { answersSpooledUnderLoad } from '../../common/observability/metrics';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { PublicUrls } from '../../common/public-urls';
import { Public } from '../../common/auth/auth.decorators';
import type { PersonRole } from '../../common/domain/directory.types';
import { DispatchRepository } from '../dispatch/dispatch.repository';
import { MessageRenderer } from '../dispatch/message-renderer';
import { WarningsRepository } from '../warnings/warnings.repository';
import { NoticesRepository } from '../chain/notices.repository';
import type { KeypressCall } from '../chain/chain-moves.repository';
import { DeliveryEventsService } from './delivery-events.service';
import { InboundEvents, receivedVoice, type InboundEvent } from './inbound-events';
import { ACKNOWLEDGED_SPOOL_DELAY_MS, InboundSpool } from './inbound-spool';

/**
 * Twilio's callbacks. Public (no bearer token) but every request must carry a valid
 * X-Twilio-Signature for our auth token over the exact public URL; anything else is a 403.
 */
@ApiExcludeController()
@Public()
@Controller('webhooks/twilio')
export class TwilioWebhooksController {
  private readonly logger = new Logger(TwilioWebhooksController.name);
  constructor(
    private readonly verifier: TwilioWebhookVerifier,
    private readonly urls: PublicUrls,
    private readonly events: DeliveryEventsService,
    private readonly attempts: DispatchRepository,
    private readonly warnings: WarningsRepository,
    private readonly renderer: MessageRenderer,
    private readonly notices: NoticesRepository,
    private readonly inbound: InboundEvents,
    private readonly spool: InboundSpool,
    private readonly admission: WebhookAdmission,
  ) {}

  /** An answer recorded after its webhook was answered failed: nobody else will hear of it. */
  private lateFailure(what: string) {
    return (err: unknown) =>
      this.logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        `${what} acknowledged before it was recorded, then failed to record`,
      );
  }

  /**
   * An answer acknowledged before it was recorded is also kept in the inbound spool before the
   * caller hears "received": if this process dies before its recording commits, the spool's worker
   * records it a minute later (ACKNOWLEDGED_SPOOL_DELAY_MS; once: answers are kept per dedupe key,
   * whichever path comes first). Should the spool fail too, the recording in this process is all
   * that is left: logged, still answered.
   */
  private async keepAcknowledged(
    event: InboundEvent,
    receivedAt: Date,
    recording: Promise<unknown>,
    recorded: { done: boolean },
  ): Promise<void> {
    // Applied from the spool only if the recording has not finished a while later (this process
    // died, or the recording failed); once it has recorded the answer, the event is taken out of
    // the spool. Not when the recording ended by keeping it there (Postgres unreachable).
    const forgetOnceRecorded = () =>
      void recording.then(
        () => (recorded.done ? this.spool.forget(event) : undefined),
        () => undefined,
      );
    await this.spool
      .keep(event, receivedAt, 'acknowledged_early', ACKNOWLEDGED_SPOOL_DELAY_MS)
      .then(forgetOnceRecorded)
      .catch((err: unknown) =>
        this.logger.warn(
          { err: err instanceof Error ? err.message : String(err), type: event.type },
          'an answer acknowledged early could not be kept in the inbound spool',
        ),
      );
  }

  /**
   * An answer admitted past ANSWER_MAX_IN_FLIGHT (WebhookAdmission.spoolOnly): kept in the inbound
   * spool for its worker to record, nothing held in this process. A 503 when the queue backend
   * cannot take it either.
   */
  private async keepUnderLoad(event: InboundEvent, receivedAt: Date): Promise<void> {
    await this.spool.keep(event, receivedAt, 'under_load');
    answersSpooledUnderLoad().inc();
  }

  private verify(req: Request, params: TwilioParams, signature: string | undefined): void {
    const url = publicWebhookUrl(this.urls.base, req.originalUrl);
    if (!this.verifier.verify({ url, params, signature })) {
      throw new AppException(ErrorCode.InvalidSignature, '签名无效', 'Invalid X-Twilio-Signature');
    }
  }

  /** SMS status callback of one attempt (the URL each SMS is sent with). */
  @Post('sms/:attemptId/status')
  @HttpCode(204)
  async smsAttemptStatus(
    @Req() req: Request,
    @Param('attemptId', UuidPipe) attemptId: string,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ) {
    await this.smsStatusEvent(req, body, sig, attemptId);
  }

  /** SMS status callback matched by MessageSid (messages sent before callbacks carried the attempt). */
  @Post('sms/status')
  @HttpCode(204)
  async smsStatus(
    @Req() req: Request,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ) {
    await this.smsStatusEvent(req, body, sig);
  }

  private async smsStatusEvent(
    req: Request,
    body: TwilioParams,
    sig: string | undefined,
    attemptId?: string,
  ): Promise<void> {
    this.verify(req, body, sig);
    const e = parseSmsStatusEvent(body);
    await this.events.smsStatus({
      messageSid: e.messageSid,
      status: e.status,
      errorCode: e.errorCode?.toString(),
      attemptId,
    });
  }

  /**
   * Replies to our messages. Stored once; matched to the person's open warning and recorded as
   * their answer (叫应); answered with a thank-you, a help acknowledgement or a clarifying SMS.
   */
  @Post('sms')
  async inboundSms(
    @Req() req: Request,
    @Res() res: Response,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ) {
    const receivedAt = new Date();
    this.verify(req, body, sig);
    const e = parseInboundSmsEvent(body);
    const message = { messageSid: e.messageSid, from: e.from, body: e.body };
    if (this.admission.spoolOnly(res)) {
      await this.keepUnderLoad({ type: 'sms', ...message }, receivedAt);
      res.type('text/xml').send(smsReplyTwiml(this.inbound.receivedSms(message.body)));
      return;
    }
    // Postgres unreachable: kept in the inbound spool, answered "received" (see InboundSpool).
    // Set once the reply is recorded here (not kept in the spool instead).
    const recorded = { done: false };
    const work = this.spool.recordOrKeep(
      async () => {
        const { reply } = await this.inbound.sms({ type: 'sms', ...message });
        recorded.done = true;
        return reply;
      },
      { type: 'sms', ...message },
      receivedAt,
      () => this.inbound.receivedSms(message.body),
    );
    // Answered within the acknowledgement deadline: past it, kept in the inbound spool too and
    // answered "received" (the catalogue's words, as during a database outage: nothing claims it
    // was recorded yet), as a keypress is; the recording goes on in the background.
    const r = await this.admission.within(res, work, this.lateFailure('an SMS reply'));
    if (!r.done)
      await this.keepAcknowledged({ type: 'sms', ...message }, receivedAt, work, recorded);
    res
      .type('text/xml')
      .send(smsReplyTwiml(r.done ? r.value : this.inbound.receivedSms(message.body)));
  }

  /** The call's first TwiML: the warning, read in Chinese, with a keypress gathered while it plays. */
  @Post('voice/:attemptId/twiml')
  async twiml(
    @Req() req: Request,
    @Res() res: Response,
    @Param('attemptId', UuidPipe) attemptId: string,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ) {
    this.verify(req, body, sig);
    const scripts = await this.scripts(attemptId);
    await this.events.callStatus(attemptId, {
      callSid: String(body.CallSid ?? ''),
      status: 'in-progress',
    });
    res
      .type('text/xml')
      .send(warningCallTwiml({ scripts, gatherUrl: this.urls.voiceGather(attemptId) }));
  }

  @Post('voice/:attemptId/gather')
  async gather(
    @Req() req: Request,
    @Res() res: Response,
    @Param('attemptId', UuidPipe) attemptId: string,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ) {
    const receivedAt = new Date();
    this.verify(req, body, sig);
    const e = parseGatherEvent(body, req.originalUrl);
    const event = {
      type: 'gather' as const,
      attemptId,
      callSid: e.callSid,
      digits: e.digits,
      round: e.round,
    };
    const outcome = gatherOutcome(e.digits ?? '');
    const acknowledgeable = outcome === 'confirmed' || outcome === 'help_requested';
    if (this.admission.spoolOnly(res)) {
      // Past the bound: a confirmation or a request for help is kept for the spool's worker and
      // answered "received"; another key needs the next round's script, read from the database.
      if (!acknowledgeable) throw this.admission.overloaded();
      await this.keepUnderLoad(event, receivedAt);
      res.type('text/xml').send(sayAndHangUpTwiml(receivedVoice(e.digits)));
      return;
    }
    // Set once the key is recorded here (not kept in the spool instead).
    const recorded = { done: false };
    // Postgres unreachable: the key (or the message heard) is kept in the inbound spool and the
    // call ends with "received" for 1 and 2 (the script for another round cannot be read).
    const work = this.spool.recordOrKeep(
      async () => {
        // A key is recorded with the read of its call, which the call's texts are made of (the
        // warning's version from the versions kept in memory): one round trip to Postgres.
        let scripts;
        if (e.digits) {
          const call = await this.inbound.gather(event);
          if (!call) throw AppException.notFound('呼叫 call attempt', attemptId);
          recorded.done = true;
          scripts = await this.scriptsOf(call);
        } else scripts = await this.scripts(attemptId);
        const reply = gatherReplyTwiml({
          scripts,
          gatherUrl: this.urls.voiceGather(attemptId),
          digits: e.digits,
          round: e.round,
        });
        if (!e.digits) await this.inbound.gather(event);
        return reply.twiml;
      },
      event,
      receivedAt,
      () => sayAndHangUpTwiml(receivedVoice(e.digits)),
    );
    // A confirmation or a request for help is answered within the acknowledgement deadline:
    // past it, with the same "received" words as during a database outage, the answer being
    // recorded in the background. Other keys and no key need the next round's TwiML: they wait.
    if (!acknowledgeable) {
      res.type('text/xml').send(await work);
      return;
    }
    const r = await this.admission.within(res, work, this.lateFailure('a keypress'));
    if (!r.done) await this.keepAcknowledged(event, receivedAt, work, recorded);
    res.type('text/xml').send(r.done ? r.value : sayAndHangUpTwiml(receivedVoice(e.digits)));
  }

  @Post('voice/:attemptId/status')
  @HttpCode(204)
  async callStatus(
    @Req() req: Request,
    @Param('attemptId', UuidPipe) attemptId: string,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ) {
    this.verify(req, body, sig);
    const e = parseCallStatusEvent(body);
    await this.events.callStatus(attemptId, {
      callSid: e.callSid,
      status: e.status,
      duration: e.durationSec,
      errorCode: e.errorCode?.toString(),
    });
  }

  private async scripts(attemptId: string) {
    const a = await this.attempts.findAttempt(attemptId);
    if (!a) throw AppException.notFound('呼叫 call attempt', attemptId);
    return this.scriptsOf(a);
  }

  /** The call's texts: its warning version's (kept in memory once read), for its person. */
  private async scriptsOf(a: CallOf) {
    const v = await this.warnings.findVersion(a.warningId, a.version);
    if (!v) throw AppException.notFound('预警 warning', a.warningId);
    const person = {
      name: a.personName,
      role: a.personRole as PersonRole,
      dropped: await this.attempts.droppedArea(a, v.msgType),
    };
    const scripts = this.renderer.voice(
      v.content,
      a.msgType,
      person,
      await this.warnings.previousOf(v),
    );
    if (a.purpose !== 'notice') return scripts;
    // A notice call says what its notice reports: who asked for help, who did not answer, where.
    const subjects = await this.notices.subjects(a.covers ?? []);
    return { ...scripts, script: this.renderer.escalation(v.content, person, subjects).voice };
  }
}

/** What a call's texts are made of (an attempt read, or the call a key was pressed on). */
type CallOf = Pick<
  KeypressCall,
  | 'deliveryId'
  | 'warningId'
  | 'version'
  | 'msgType'
  | 'purpose'
  | 'covers'
  | 'personName'
  | 'personRole'
>;
