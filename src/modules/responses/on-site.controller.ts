import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiTokenErrors } from '../../common/http/api-docs';
import { OnSiteAnswerView } from './on-site.responses';
import { UuidPipe } from '../../common/http/params';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { OnSiteConfirmDto } from './on-site.dto';
import { OnSiteService } from './on-site.service';

@ApiTags('responses')
@ApiBearerAuth()
@Controller('v1')
export class OnSiteController {
  constructor(private readonly onSite: OnSiteService) {}

  /**
   * Record a person's answer given on site (door-to-door, in person): grid members for people
   * of their own grid, duty officers within their jurisdiction. The first answer stands.
   */
  @Post('warnings/:id/people/:personId/confirm')
  @HttpCode(200)
  @Roles('grid_member', 'duty_officer')
  @ApiOperation({
    summary: 'Record an answer given on site (现场确认)',
    description:
      'Grid members for people of their grid, duty officers within their jurisdiction; the ' +
      'first answer stands, the same record posted twice is one answer.',
  })
  @ApiOkResponse({ type: OnSiteAnswerView })
  @ApiTokenErrors(400, 404, 413)
  confirm(
    @Param('id', UuidPipe) id: string,
    @Param('personId', UuidPipe) personId: string,
    @Body() dto: OnSiteConfirmDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.onSite.confirm(principal, id, personId, dto);
  }
}
