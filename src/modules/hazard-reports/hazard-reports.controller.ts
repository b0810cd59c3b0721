import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { UuidPipe } from '../../common/http/params';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import {
  CreateHazardReportDto,
  DirectNoticeDto,
  DraftWarningDto,
  ListHazardReportsQuery,
} from './dto/hazard-report.dto';
import {
  HazardReportAckResultView,
  HazardReportView,
  HazardReportWarningDraftView,
  HazardReportWarningView,
} from './hazard-reports.responses';
import { HazardReportsService } from './hazard-reports.service';

@ApiTags('hazard-reports')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1/hazard-reports')
export class HazardReportsController {
  constructor(private readonly reports: HazardReportsService) {}

  @Post()
  @Roles('duty_officer', 'grid_member')
  @ApiOperation({
    summary: 'Report a hazard (险情上报)',
    description:
      'Graded by the people to relocate: 特大型 ≥1000, 大型 500–999, 中型 100–499, 小型 <100. ' +
      'The county duty office is told at once by SMS, and for 特大型/大型 the city duty office too ' +
      '(it must acknowledge within one hour). A grid member reports for their grid’s village.',
  })
  @ApiCreatedResponse({ type: HazardReportView })
  @ApiErrors(400)
  create(@Body() dto: CreateHazardReportDto, @CurrentPrincipal() principal: Principal) {
    return this.reports.create(principal, dto);
  }

  @Get()
  @Roles('duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: 'List hazard reports, newest first',
    description:
      'With ?state=open, the open reports with their grade, city deadline, flag and direct ' +
      'notices. Duty officers see their jurisdiction, grid members their own reports.',
  })
  @ApiOkResponse({ type: [HazardReportView] })
  @ApiErrors(400)
  list(@Query() query: ListHazardReportsQuery, @CurrentPrincipal() principal: Principal) {
    return this.reports.list(principal, query.state);
  }

  @Get(':id')
  @Roles('duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: 'A hazard report: who was notified, who acknowledged, the city deadline',
  })
  @ApiOkResponse({ type: HazardReportView })
  @ApiErrors(400, 404)
  get(@Param('id', UuidPipe) id: string, @CurrentPrincipal() principal: Principal) {
    return this.reports.get(principal, id);
  }

  @Post(':id/acknowledge')
  @HttpCode(200)
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Acknowledge a hazard report (确认接报)',
    description:
      'Recorded once per level: a token whose jurisdiction is a city (4 digits) or above ' +
      'acknowledges for the city, a county token for the county. Repeats answer recorded: false.',
  })
  @ApiOkResponse({ type: HazardReportAckResultView })
  @ApiErrors(400, 404)
  acknowledge(@Param('id', UuidPipe) id: string, @CurrentPrincipal() principal: Principal) {
    return this.reports.acknowledge(principal, id);
  }

  @Post(':id/warning')
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Draft and issue an imminent warning from a report (一键发布临灾预警)',
    description:
      'Place, areas, hazard and people threatened come from the report and its hazard point; ' +
      'instruction, shelter, level and times may be given. Issued through the warnings service ' +
      'and linked to the report; a report has at most one such warning. Under the two-person ' +
      'release (TWO_PERSON_RELEASE) a public red warning is drafted instead (202) for another ' +
      'duty officer to approve (POST /v1/warnings/:id/approve); the report shows the warning ' +
      'once approved.',
  })
  @ApiCreatedResponse({ type: HazardReportWarningView, description: 'issued' })
  @ApiAcceptedResponse({
    type: HazardReportWarningDraftView,
    description: 'drafted: another duty officer must approve it (two-person release)',
  })
  @ApiErrors(400, 404, 409)
  async draftWarning(
    @Param('id', UuidPipe) id: string,
    @Body() dto: DraftWarningDto,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ) {
    const result = await this.reports.draftWarning(principal, id, dto);
    res.status(result.statusCode);
    return result.body;
  }

  @Post(':id/direct-notice')
  @Roles('duty_officer', 'grid_member')
  @ApiOperation({
    summary: 'Record that the threatened people were notified directly on site',
    description:
      'In extreme danger a responsible person on site may warn the threatened people at once; ' +
      'who, when, how many and by what means is shown to the duty office at once.',
  })
  @ApiCreatedResponse({ type: HazardReportView })
  @ApiErrors(400, 404)
  directNotice(
    @Param('id', UuidPipe) id: string,
    @Body() dto: DirectNoticeDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.reports.directNotice(principal, id, dto);
  }
}
