import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import { UuidPipe } from '../../common/http/params';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal, Roles } from '../auth/auth.decorators';
import { csvHeaders, runCsv } from './csv-response';
import { parseGroupBy, parseLang, parsePeriod } from './query';
import { ReportsService } from './reports.service';

/** Coverage, confirmation and response-time reports, per warning and over a period. */
@ApiTags('reports')
@ApiBearerAuth()
@Controller('v1/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  /** Over a period: warnings issued in [from, to) with the given status (default actual). */
  @Get('period')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  async period(@Query() q: Record<string, unknown>, @CurrentPrincipal() principal: Principal) {
    const { from, to, status } = parsePeriod(q);
    const groupBy = parseGroupBy(q.groupBy);
    return this.reports.report(
      principal,
      this.reports.periodScope(principal, from, to, status),
      groupBy,
    );
  }

  /** The per-group table of a warning's report as CSV (UTF-8 with BOM), streamed. */
  @Get('warnings/:id.csv')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiProduces('text/csv')
  async warningCsv(
    @Param('id', UuidPipe) id: string,
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    const groupBy = parseGroupBy(q.groupBy);
    const lang = parseLang(q.headers);
    await runCsv(res, () =>
      this.reports.streamReportCsv(
        principal,
        id,
        groupBy,
        lang,
        res,
        csvHeaders(res, `report-${id}-${groupBy}.csv`),
      ),
    );
  }

  @Get('warnings/:id')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  async warning(
    @Param('id', UuidPipe) id: string,
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
  ) {
    const groupBy = parseGroupBy(q.groupBy);
    return this.reports.report(principal, await this.reports.warningScope(principal, id), groupBy);
  }
}
