import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import { UuidPipe } from '../../common/http/params';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal, Roles } from '../auth/auth.decorators';
import { csvHeaders, runCsv } from './csv-response';
import { parseChainFilters, parseLang, parsePage } from './query';
import { ReportsService } from './reports.service';

/** 叫应 chains of a warning: who was called, when, how, and who answered. */
@ApiTags('reports')
@ApiBearerAuth()
@Controller('v1/warnings')
export class ChainsController {
  constructor(private readonly reports: ReportsService) {}

  /** Every person in the chain as CSV (UTF-8 with BOM), streamed through a database cursor. */
  @Get(':id/chains.csv')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiProduces('text/csv')
  async chainsCsv(
    @Param('id', UuidPipe) id: string,
    @Query() q: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    const filters = parseChainFilters(q);
    const lang = parseLang(q.headers);
    await runCsv(res, () =>
      this.reports.streamChainsCsv(
        principal,
        id,
        filters,
        lang,
        res,
        csvHeaders(res, `chains-${id}.csv`),
      ),
    );
  }

  /** One row per person in the chain; paged, filterable by state, division prefix, grid and role. */
  @Get(':id/chains')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
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
  async timeline(
    @Param('id', UuidPipe) id: string,
    @Param('personId', UuidPipe) personId: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.reports.timeline(principal, id, personId);
  }
}
