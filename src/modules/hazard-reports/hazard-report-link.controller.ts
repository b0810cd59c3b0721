import { Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../common/auth/auth.decorators';
import { HazardReportLinks } from './hazard-report-links';
import { hazardAckPage, hazardAckResultPage, hazardLinkProblemPage } from './hazard-report-pages';
import { HazardReportsService } from './hazard-reports.service';

/**
 * The signed acknowledgement link of a report notice (/c/h/:token), sent in the SMS to the county
 * and city duty offices. GET shows the report and one button and never changes anything (link
 * previews and scanners fetch it); POST acknowledges for the notice's level, once, recording the
 * person the notice went to, the notice and the time (channel `link`). Expired: 410; unknown or
 * forged: 404.
 */
@ApiExcludeController()
@Public()
@Controller('c/h')
export class HazardReportLinkController {
  constructor(
    private readonly links: HazardReportLinks,
    private readonly reports: HazardReportsService,
  ) {}

  @Get(':token')
  async show(@Param('token') token: string, @Res() res: Response): Promise<void> {
    const link = this.links.verify(token);
    if (!link.ok)
      return this.html(
        res,
        link.reason === 'expired' ? 410 : 404,
        hazardLinkProblemPage(link.reason),
      );
    const view = await this.reports.linkView(link.noticeId);
    if (!view) return this.html(res, 404, hazardLinkProblemPage('invalid'));
    this.html(res, 200, hazardAckPage(view));
  }

  @Post(':token')
  async acknowledge(@Param('token') token: string, @Res() res: Response): Promise<void> {
    const link = this.links.verify(token);
    if (!link.ok)
      return this.html(
        res,
        link.reason === 'expired' ? 410 : 404,
        hazardLinkProblemPage(link.reason),
      );
    if (!(await this.reports.linkView(link.noticeId)))
      return this.html(res, 404, hazardLinkProblemPage('invalid'));
    const recorded = await this.reports.acknowledgeByLink(link.noticeId);
    const after = await this.reports.linkView(link.noticeId);
    this.html(res, 200, hazardAckResultPage(after!, recorded));
  }

  private html(res: Response, status: number, html: string): void {
    res
      .status(status)
      .set({ 'Cache-Control': 'no-store', 'X-Robots-Tag': 'noindex, nofollow' })
      .type('html')
      .send(html);
  }
}
