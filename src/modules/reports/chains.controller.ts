import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { UuidPipe } from '../../common/http/params';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { ApiDownload, ApiPagedResponse, ApiTokenErrors } from '../../common/http/api-docs';
import { downloadHeaders, EXPORT_CONTENT_TYPES, runExport } from './export-response';
import { parseChainFilters, parseExportOptions, parsePage } from './query';
import { ReportsService } from './reports.service';
import { ChainRowView, ChainTimelineView } from './reports.responses';
import type { ExportFormat } from './reports.types';
import { ApiChainFilters, ApiExportQueries } from './reports.api';

/** 叫应 chains of a warning: who was called, when, how, and who answered. */
@ApiTags('reports')
@ApiBearerAuth()
@ApiTokenErrors(400, 404)
@Controller('v1/warnings')
export class ChainsController {
  constructor(private readonly reports: ReportsService) {}

  /** Every person in the chain as CSV (UTF-8 with BOM), streamed through a database cursor. */
  @Get(':id/chains.csv')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: 'Export the 叫应 chains as CSV',
    description:
      'One row per person, filtered as GET …/chains, streamed. UTF-8 with a BOM (Excel reads ' +
      'Chinese correctly); `headers=zh` gives Chinese headers and values (confirmed → 已确认, ' +
      'sms → 短信, grid_leader → 网格长). Times are ISO 8601 in UTC. Phone numbers are masked ' +
      'for auditors and grid members.',
  })
  @ApiChainFilters()
  @ApiExportQueries(false)
  @ApiDownload(EXPORT_CONTENT_TYPES.csv, 'CSV file, one row per person in the chain')
  async chainsCsv(
    @Param('id', UuidPipe) id: string,
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    await this.exportChains('csv', id, q, principal, res);
  }

  /** The same as a workbook: ids, phone numbers and codes as text cells, times as dates. */
  @Get(':id/chains.xlsx')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: 'Export the 叫应 chains as an Excel workbook (.xlsx)',
    description:
      'The rows of chains.csv in a sheet with a frozen, filterable header; ids, phone numbers, ' +
      'division and grid codes are text cells, counts and seconds numbers, times date cells in ' +
      '`tz` (default Asia/Shanghai). A second sheet says what was exported, when, by whom and ' +
      'whether contacts are masked.',
  })
  @ApiChainFilters()
  @ApiExportQueries(true)
  @ApiDownload(EXPORT_CONTENT_TYPES.xlsx, 'Excel workbook, one row per person in the chain')
  async chainsXlsx(
    @Param('id', UuidPipe) id: string,
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    await this.exportChains('xlsx', id, q, principal, res);
  }

  private async exportChains(
    format: ExportFormat,
    id: string,
    q: Record<string, unknown>,
    principal: Principal,
    res: Response,
  ): Promise<void> {
    const filters = parseChainFilters(q);
    const opts = parseExportOptions(q, format);
    await runExport(res, () =>
      this.reports.exportChains(
        principal,
        id,
        filters,
        opts,
        res,
        downloadHeaders(res, `chains-${id}.${format}`, format),
      ),
    );
  }

  /** One row per person in the chain; paged, filterable by state, division prefix, grid and role. */
  @Get(':id/chains')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: 'List the 叫应 chains of a warning (one row per person, paged)',
    description:
      'Recipients and escalation targets with state, times, answering channel and deadlines. ' +
      'Grid members see only their grid (another grid: 403); phone numbers are masked for ' +
      'auditors and grid members.',
  })
  @ApiChainFilters()
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', default: 100, minimum: 1, maximum: 1000 },
  })
  @ApiQuery({
    name: 'offset',
    required: false,
    schema: { type: 'integer', default: 0, minimum: 0 },
  })
  @ApiPagedResponse(ChainRowView, 'A page of chains')
  async chains(
    @Param('id', UuidPipe) id: string,
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
  ) {
    const filters = parseChainFilters(q);
    const { limit, offset } = parsePage(q.limit, q.offset);
    return this.reports.chains(principal, id, filters, limit, offset);
  }

  /** One person's chain as a timeline. */
  @Get(':id/chains/:personId')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: "One person's 叫应 chain as a timeline",
    description:
      'Every attempt (provider ids, outcomes, times), answer (raw input), escalation edge in and ' +
      'out, task, response times and deadline, and all of it as time-ordered events.',
  })
  @ApiOkResponse({ type: ChainTimelineView })
  async timeline(
    @Param('id', UuidPipe) id: string,
    @Param('personId', UuidPipe) personId: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.reports.timeline(principal, id, personId);
  }
}
