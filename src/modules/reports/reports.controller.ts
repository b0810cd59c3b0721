import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { UuidPipe } from '../../common/http/params';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { ApiDownload, ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import { downloadHeaders, EXPORT_CONTENT_TYPES, runExport } from './export-response';
import { parseExportOptions, parseGroupBy, parsePeriod } from './query';
import { ApiExportQueries, ApiGroupByQuery, ApiPeriodQueries } from './reports.api';
import { ReportView } from './reports.responses';
import { ReportsService } from './reports.service';
import type { ExportFormat } from './reports.types';

const PERIOD_EXPORT =
  'The per-group table of GET /v1/reports/period, streamed. Duty officers see warnings of their ' +
  'jurisdiction, grid members their grid.';
const WARNING_EXPORT =
  'The per-group table of GET /v1/reports/warnings/{id} (coverage, confirmation rate, response times, breaches), streamed.';
const CSV_NOTE =
  ' UTF-8 with a BOM; `headers=zh` gives Chinese headers and values (grouping, role names).';
const XLSX_NOTE =
  ' Codes are text cells, counts numbers, rates percentages; a second sheet says what was exported.';

/** Coverage, confirmation and response-time reports, per warning and over a period. */
@ApiTags('reports')
@ApiBearerAuth()
@ApiTokenErrors(400)
@Controller('v1/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  /** Over a period: warnings issued in [from, to) with the given status (default actual). */
  @Get('period')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: 'Report over a period (coverage, confirmation, response times by group)',
    description:
      'Warnings issued in [from, to) with the given status (default actual: exercises and tests ' +
      'are kept apart). Duty officers see their jurisdiction, grid members their grid.',
  })
  @ApiPeriodQueries()
  @ApiGroupByQuery()
  @ApiOkResponse({ type: ReportView })
  async period(@Query() q: Record<string, unknown>, @CurrentPrincipal() principal: Principal) {
    const { from, to, status } = parsePeriod(q);
    const groupBy = parseGroupBy(q.groupBy);
    return this.reports.report(
      principal,
      this.reports.periodScope(principal, from, to, status),
      groupBy,
    );
  }

  @Get('period.csv')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({ summary: 'Export a period report as CSV', description: PERIOD_EXPORT + CSV_NOTE })
  @ApiPeriodQueries()
  @ApiGroupByQuery()
  @ApiExportQueries(false)
  @ApiDownload(EXPORT_CONTENT_TYPES.csv, 'CSV file, one row per group')
  async periodCsv(
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    await this.exportPeriod('csv', q, principal, res);
  }

  @Get('period.xlsx')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: 'Export a period report as an Excel workbook (.xlsx)',
    description: PERIOD_EXPORT + XLSX_NOTE,
  })
  @ApiPeriodQueries()
  @ApiGroupByQuery()
  @ApiExportQueries(true)
  @ApiDownload(EXPORT_CONTENT_TYPES.xlsx, 'Excel workbook, one row per group')
  async periodXlsx(
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    await this.exportPeriod('xlsx', q, principal, res);
  }

  /** The per-group table of a warning's report as CSV (UTF-8 with BOM), streamed. */
  @Get('warnings/:id.csv')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: "Export a warning's report as CSV",
    description: WARNING_EXPORT + CSV_NOTE,
  })
  @ApiGroupByQuery()
  @ApiExportQueries(false)
  @ApiErrors(404)
  @ApiDownload(EXPORT_CONTENT_TYPES.csv, 'CSV file, one row per group')
  async warningCsv(
    @Param('id', UuidPipe) id: string,
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    await this.exportWarning('csv', id, q, principal, res);
  }

  @Get('warnings/:id.xlsx')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: "Export a warning's report as an Excel workbook (.xlsx)",
    description: WARNING_EXPORT + XLSX_NOTE,
  })
  @ApiGroupByQuery()
  @ApiExportQueries(true)
  @ApiErrors(404)
  @ApiDownload(EXPORT_CONTENT_TYPES.xlsx, 'Excel workbook, one row per group')
  async warningXlsx(
    @Param('id', UuidPipe) id: string,
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    await this.exportWarning('xlsx', id, q, principal, res);
  }

  @Get('warnings/:id')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: "A warning's report (coverage, confirmation, response times by group)",
    description:
      'Totals, the per-group table, deadline breaches, people never reached and dead contact ' +
      'points (masked for auditors and grid members). Grid members see their grid.',
  })
  @ApiGroupByQuery()
  @ApiErrors(404)
  @ApiOkResponse({ type: ReportView })
  async warning(
    @Param('id', UuidPipe) id: string,
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
  ) {
    const groupBy = parseGroupBy(q.groupBy);
    return this.reports.report(principal, await this.reports.warningScope(principal, id), groupBy);
  }

  private async exportWarning(
    format: ExportFormat,
    id: string,
    q: Record<string, unknown>,
    principal: Principal,
    res: Response,
  ): Promise<void> {
    const groupBy = parseGroupBy(q.groupBy);
    const opts = parseExportOptions(q, format);
    await runExport(res, async () => {
      const scope = await this.reports.warningScope(principal, id);
      await this.reports.exportReport(
        principal,
        scope,
        groupBy,
        opts,
        res,
        downloadHeaders(res, `report-${id}-${groupBy}.${format}`, format),
      );
    });
  }

  private async exportPeriod(
    format: ExportFormat,
    q: Record<string, unknown>,
    principal: Principal,
    res: Response,
  ): Promise<void> {
    const { from, to, status } = parsePeriod(q);
    const groupBy = parseGroupBy(q.groupBy);
    const opts = parseExportOptions(q, format);
    const day = (d: Date) => d.toISOString().slice(0, 10);
    await runExport(res, () =>
      this.reports.exportReport(
        principal,
        this.reports.periodScope(principal, from, to, status),
        groupBy,
        opts,
        res,
        downloadHeaders(
          res,
          `report-${status}-${day(from)}-${day(to)}-${groupBy}.${format}`,
          format,
        ),
      ),
    );
  }
}
