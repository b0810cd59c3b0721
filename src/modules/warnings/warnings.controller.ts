import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { ApiDownload, ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import {
  ApprovalResultView,
  ChainPersonTimesView,
  IssueResultView,
  WarningDraftView,
  WarningDetailView,
  WarningListItemView,
} from './warnings.responses';
import type { Response } from 'express';
import { AppException } from '../../common/errors/app.exception';
import { limitPipe, offsetPipe, UuidPipe } from '../../common/http/params';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { toCapXml } from './cap/cap-export';
import { ChainStatsService } from '../escalation/chain-stats.service';
import { CapImportService } from './cap-import.service';
import {
  ApproveWarningDto,
  CancelWarningDto,
  CreateWarningDto,
  UpdateWarningDto,
} from './dto/create-warning.dto';
import { needsSecondOfficer } from './release-policy';
import { defaultAudience } from './warning-rules';
import { WarningDraftsService } from './warning-drafts.service';
import { WarningsRepository } from './warnings.repository';
import { WarningsService } from './warnings.service';

@ApiTags('warnings')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1/warnings')
export class WarningsController {
  constructor(
    private readonly warnings: WarningsService,
    private readonly repo: WarningsRepository,
    private readonly cap: CapImportService,
    private readonly stats: ChainStatsService,
    private readonly drafts: WarningDraftsService,
  ) {}

  /** Issue a warning. Same Idempotency-Key and body: the first answer, nothing sent twice. */
  @Post()
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Issue a warning (发布预警)',
    description:
      'Targets areas, hazard points (隐患点) and risk zones (风险区) within your jurisdiction; ' +
      'fan-out and sends start at once. With the same Idempotency-Key and body, the first answer ' +
      'is given again and nothing is sent twice; another body with that key is 409. Under the ' +
      'two-person release (TWO_PERSON_RELEASE, default red_public: red actual warnings to ' +
      'residents) the answer is 202 with a draft and its preview, and nothing is sent until ' +
      'another duty officer approves it.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: '1-200 printable ASCII characters; replays return the first answer',
  })
  @ApiCreatedResponse({ type: IssueResultView, description: 'issued' })
  @ApiOkResponse({ type: IssueResultView, description: 'a replay of an earlier issue' })
  @ApiAcceptedResponse({
    type: WarningDraftView,
    description: 'drafted: another duty officer must approve it (two-person release)',
  })
  @ApiErrors(400, 409, 413)
  async issue(
    @Body() dto: CreateWarningDto,
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
      throw AppException.validation([
        { field: 'Idempotency-Key', message: 'must be 1-200 printable ASCII characters' },
      ]);
    }
    const status = dto.status ?? 'actual';
    const audience = dto.audience?.length
      ? dto.audience
      : defaultAudience(dto.kind, dto.level, status);
    if (needsSecondOfficer({ level: dto.level, status, audience })) {
      res.status(202);
      return this.drafts.draft(principal, dto);
    }
    const result = await this.warnings.issue(principal, dto, { idempotencyKey });
    res.status(result.statusCode);
    return result.body;
  }

  /** A draft awaiting a second duty officer, with its preview as it is now. */
  @Get('drafts/:id')
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'A warning draft awaiting approval, with its preview',
    description:
      "Recipients per role and each channel's text as they are now, and the preview hash to " +
      'send with the approval.',
  })
  @ApiOkResponse({ type: WarningDraftView })
  @ApiErrors(400, 404)
  async draft(@Param('id', UuidPipe) id: string, @CurrentPrincipal() principal: Principal) {
    return this.drafts.get(principal, id);
  }

  /** Two-person release: another duty officer approves the preview they saw, and it is issued. */
  @Post(':id/approve')
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Approve a warning draft (双人复核) and issue it',
    description:
      'By a duty officer other than the one who drafted it (else 403), with the previewHash ' +
      'they saw: a draft whose preview changed since (its recipients or text) is 409.',
  })
  @ApiCreatedResponse({ type: ApprovalResultView })
  @ApiErrors(400, 404, 409, 413)
  async approve(
    @Param('id', UuidPipe) id: string,
    @Body() dto: ApproveWarningDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.drafts.approve(principal, id, dto.previewHash);
  }

  /** Issue, update or cancel from a CAP 1.2 alert (a meteorological bureau feed). */
  @Post('cap')
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Issue, update or cancel from a CAP 1.2 alert',
    description:
      'A meteorological bureau feed: msgType Alert issues, Update and Cancel act on the warning ' +
      'its references name. A CAP alert imported before is 409. Two-person release: an Alert ' +
      'whose CAP sender is a trusted upstream authority (CAP_TRUSTED_SENDERS) was released by it ' +
      'and is issued at once (audit warning.issued with release trusted_import and the sender); ' +
      'an Alert from any other sender that falls under TWO_PERSON_RELEASE is drafted (202, with ' +
      'the preview) and issued with its CAP identifier when another duty officer approves it.',
  })
  @ApiConsumes('application/xml')
  @ApiBody({ schema: { type: 'string' }, description: 'the CAP 1.2 alert (XML)' })
  @ApiCreatedResponse({ type: IssueResultView })
  @ApiAcceptedResponse({
    type: WarningDraftView,
    description: 'drafted: not from a trusted sender, another duty officer must approve it',
  })
  @ApiOkResponse({ type: IssueResultView, description: 'an update, cancel or a replay' })
  @ApiErrors(400, 404, 409, 413, 415)
  async importCap(
    @Body() xml: unknown,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (typeof xml !== 'string') {
      throw AppException.validation([
        { field: 'body', message: 'send the CAP alert as application/xml' },
      ]);
    }
    const result = await this.cap.import(principal, xml);
    res.status(result.statusCode);
    return result.body;
  }

  @Get()
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'List warnings, newest first',
    description: 'Duty officers see the warnings of their jurisdiction.',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', default: 50, maximum: 500 },
  })
  @ApiQuery({ name: 'offset', required: false, schema: { type: 'integer', default: 0 } })
  @ApiOkResponse({ type: [WarningListItemView] })
  @ApiErrors(400)
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query('limit', limitPipe(50, 500)) limit: number,
    @Query('offset', offsetPipe()) offset: number,
  ) {
    return this.repo.list({
      jurisdiction: principal.role === 'duty_officer' ? principal.jurisdiction : null,
      limit: Math.min(Math.max(limit, 1), 500),
      offset: Math.max(offset, 0),
    });
  }

  /** The warning, its versions, counts by state and channel, and the ETA of its last first contact. */
  @Get(':id')
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'A warning with its versions, dispatch counts and 叫应 summary',
    description:
      'Counts by state and channel, the ETA of the last first contact, coverage, confirmation ' +
      'rate, median / p90 response times, deadlines, the not-woken (未叫醒) list and help requests.',
  })
  @ApiOkResponse({ type: WarningDetailView })
  @ApiErrors(400, 404)
  async detail(@Param('id', UuidPipe) id: string, @CurrentPrincipal() principal: Principal) {
    const w = await this.warnings.findVisible(principal, id);
    const [versions, deliveries, attempts, chain] = await Promise.all([
      this.repo.versions(id),
      this.repo.deliveryCounts(id),
      this.repo.attemptCounts(id),
      this.stats.summary(id),
    ]);
    const current = versions.find((v) => v.version === w.currentVersion);
    return {
      ...w,
      nationalId: current?.nationalId,
      content: current?.content,
      versions: versions.map((v) => ({
        version: v.version,
        nationalId: v.nationalId,
        msgType: v.msgType,
        level: v.level,
        sentAt: v.sentAt,
      })),
      dispatch: {
        fanoutDone: !!w.fanoutDoneAt,
        firstContactEta: w.firstContactEta,
        deliveries,
        attempts,
      },
      // 叫应: coverage, confirmation, response times, deadlines, not woken, help requests.
      responses: chain,
    };
  }

  /** Every person in the chain (recipients, escalation targets, task assignees) with their response times. */
  @Get(':id/responses')
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'Everyone in the 叫应 chain with their response times',
    description: 'Recipients, escalation targets and task assignees, in chain order.',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', default: 100, maximum: 1000 },
  })
  @ApiQuery({ name: 'offset', required: false, schema: { type: 'integer', default: 0 } })
  @ApiOkResponse({ type: [ChainPersonTimesView] })
  @ApiErrors(400, 404)
  async responses(
    @Param('id', UuidPipe) id: string,
    @CurrentPrincipal() principal: Principal,
    @Query('limit', limitPipe(100, 1000)) limit: number,
    @Query('offset', offsetPipe()) offset: number,
  ) {
    await this.warnings.findVisible(principal, id);
    return this.stats.people(id, Math.min(Math.max(limit, 1), 1000), Math.max(offset, 0));
  }

  @Post(':id/updates')
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Update a warning (new version: level, area, text)',
    description:
      'People newly concerned get the alert, people no longer concerned a release (解除通知).',
  })
  @ApiCreatedResponse({ type: IssueResultView })
  @ApiErrors(400, 404, 409, 413)
  async update(
    @Param('id', UuidPipe) id: string,
    @Body() dto: UpdateWarningDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.warnings.update(principal, id, dto);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Cancel a warning (解除预警)',
    description: 'Pending sends and 叫应 chains stop; everyone already reached is told.',
  })
  @ApiOkResponse({ type: IssueResultView })
  @ApiErrors(400, 404, 409, 413)
  async cancel(
    @Param('id', UuidPipe) id: string,
    @Body() dto: CancelWarningDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.warnings.cancel(principal, id, dto.reason);
  }

  /** The current version as a CAP 1.2 alert (valid against the OASIS schema). */
  @Get(':id/cap')
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'The current version as a CAP 1.2 alert (XML)',
    description: 'Valid against the OASIS CAP 1.2 schema.',
  })
  @ApiDownload('application/xml', 'CAP 1.2 alert', false)
  @ApiErrors(400, 404)
  async capXml(
    @Param('id', UuidPipe) id: string,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ) {
    const w = await this.warnings.findVisible(principal, id);
    const v = await this.repo.findVersion(id, w.currentVersion);
    if (!v) throw AppException.notFound('预警 warning', id);
    // An imported warning keeps its original sender (and a later update's references name it).
    const xml = toCapXml(v.content, {
      sender: `gateway.${v.content.issuer.divisionCode || 'cn'}`,
      senderName: v.content.issuer.name,
      originalSenders: await this.repo.capSenders(id),
    });
    res.type('application/xml').send(xml);
  }
}
