import { Body, Controller, Headers, HttpCode, Logger, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  type TwilioParams,
  TwilioWebhookVerifier,
  parseCallStatusEvent,
  parseGatherEvent,
  parseSmsStatusEvent,
  publicWebhookUrl,
} from '../../channels/twilio/twilio-webhook';
import { gatherReplyTwiml, warningCallTwiml } from '../../channels/voice/twiml';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { UuidPipe } from '../../common/http/params';
import { PublicUrls } from '../../common/public-urls';
import { Public } from '../../common/auth/auth.decorators';
import { HazardReportChain } from './hazard-report.chain';
import { HazardReportSender } from './hazard-report.sender';
import { HazardReportsRepository } from './hazard-reports.repository';
import { HazardReportsService } from './hazard-reports.service';

/**
 * Twilio's requests for a report call: the TwiML (the report read, a keypress gathered) and the
 * keypress (1 acknowledges for the called duty office's level), and the status callbacks of
 * report SMS and calls (what became of each: delivered, no-answer…). Public, signed by Twilio.
 */
@ApiExcludeController()
@Public()
@Controller('webhooks/hazard-reports')
export class HazardReportCallsController {
  private readonly logger = new Logger(HazardReportCallsController.name);

  constructor(
    private readonly repo: HazardReportsRepository,
    private readonly verifier: TwilioWebhookVerifier,
    private readonly urls: PublicUrls,
    private readonly reports: HazardReportsService,
    private readonly sender: HazardReportSender,
    private readonly chain: HazardReportChain,
  ) {}

  private verify(req: Request, params: TwilioParams, signature: string | undefined): void {
    const url = publicWebhookUrl(this.urls.base, req.originalUrl);
    if (!this.verifier.verify({ url, params, signature })) {
      throw new AppException(ErrorCode.InvalidSignature, '签名无效', 'Invalid X-Twilio-Signature');
    }
  }

  private async scriptsOf(noticeId: string) {
    const scripts = await this.reports.callScripts(noticeId);
    if (!scripts) throw AppException.notFound('险情通知 hazard report notice', noticeId);
    return scripts;
  }

  @Post('voice/:noticeId/twiml')
  async twiml(
    @Req() req: Request,
    @Res() res: Response,
    @Param('noticeId', UuidPipe) noticeId: string,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ) {
    this.verify(req, body, sig);
    const scripts = await this.scriptsOf(noticeId);
    res
      .type('text/xml')
      .send(warningCallTwiml({ scripts, gatherUrl: this.sender.gatherUrl(noticeId) }));
  }

  @Post('voice/:noticeId/gather')
  async gather(
    @Req() req: Request,
    @Res() res: Response,
    @Param('noticeId', UuidPipe) noticeId: string,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ) {
    this.verify(req, body, sig);
    const event = parseGatherEvent(body, req.originalUrl);
    const scripts = await this.scriptsOf(noticeId);
    const reply = gatherReplyTwiml({
      scripts,
      gatherUrl: this.sender.gatherUrl(noticeId),
      digits: event.digits,
      round: event.round,
    });
    if (reply.outcome === 'confirmed') await this.reports.acknowledgeByKeypress(noticeId);
    res.type('text/xml').send(reply.twiml);
  }

  /** A report call's status: its final status (completed, no-answer, busy, failed) is recorded. */
  @Post('voice/:noticeId/status')
  @HttpCode(204)
  async callStatus(
    @Req() req: Request,
    @Param('noticeId', UuidPipe) noticeId: string,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ): Promise<void> {
    this.verify(req, body, sig);
    const event = parseCallStatusEvent(body);
    if (!event.final) return;
    if (await this.repo.recordOutcome(noticeId, event.status, event.callSid)) {
      if (event.status !== 'completed') {
        this.logger.warn({ noticeId, status: event.status }, 'hazard report call not answered');
        // Nobody answered: the next contact point of the person is called (or texted).
        await this.failover(noticeId, event.status);
      }
    }
  }

  /** A report SMS's status: its final status (delivered, undelivered, failed) is recorded. */
  @Post('sms/:noticeId/status')
  @HttpCode(204)
  async smsStatus(
    @Req() req: Request,
    @Param('noticeId', UuidPipe) noticeId: string,
    @Body() body: TwilioParams,
    @Headers('x-twilio-signature') sig?: string,
  ): Promise<void> {
    this.verify(req, body, sig);
    const event = parseSmsStatusEvent(body);
    if (!event.final) return;
    if (await this.repo.recordOutcome(noticeId, event.status, event.messageSid))
      // An SMS that never arrived (dead number): the next contact point is tried.
      await this.failover(noticeId, event.status);
  }

  /**
   * The callback is answered whatever the failover did (its outcome is recorded already, so a
   * retried callback would not fail over again); a failover lost here is made up by the next step.
   */
  private async failover(noticeId: string, outcome: string): Promise<void> {
    await this.chain
      .failover(noticeId, outcome)
      .catch((err: unknown) =>
        this.logger.warn({ noticeId, outcome, err: String(err) }, 'hazard report failover failed'),
      );
  }
}
