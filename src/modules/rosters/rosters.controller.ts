import { Body, Controller, Get, Param, Post, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { AppException } from '../../common/errors/app.exception';
import { UuidPipe } from '../../common/http/params';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import { CreateRosterCheckDto } from './rosters.dto';
import { RosterCheckCreatedView, RosterCheckView, RosterView } from './rosters.responses';
import { RostersService } from './rosters.service';

@ApiTags('rosters')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1/roster-checks')
export class RosterChecksController {
  constructor(private readonly rosters: RostersService) {}

  @Post()
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Start a roster check (名册测试)',
    description:
      'Issues a test warning (status test, marked 测试) to every responsible person of the ' +
      'division — never residents — to find which of their numbers work.',
  })
  @ApiCreatedResponse({ type: RosterCheckCreatedView })
  @ApiErrors(400, 413)
  create(
    @Body() dto: CreateRosterCheckDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ) {
    // The validation pipe drops `constructor` / `__proto__` keys before its whitelist sees them:
    // the body as sent may name jurisdiction only.
    const raw = (req as Request & { rawBody?: Buffer }).rawBody;
    let sent: unknown = req.body;
    try {
      if (raw?.length) sent = JSON.parse(raw.toString('utf8'));
    } catch {
      // not JSON (the pipe has refused it already)
    }
    const extra = Object.keys((sent ?? {}) as object).filter((k) => k !== 'jurisdiction');
    if (extra.length)
      throw AppException.validation(
        extra.map((field) => ({ field, message: `property ${field} should not exist` })),
      );
    return this.rosters.create(principal, dto.jurisdiction);
  }

  @Get(':id')
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'A roster check: which people and numbers work',
    description:
      'Per person and contact point: answered, delivered, dead number, no answer or not tried, ' +
      'and the numbers to fix. Contact points that worked get their verified date set.',
  })
  @ApiOkResponse({ type: RosterCheckView })
  @ApiErrors(400, 404)
  result(@Param('id', UuidPipe) id: string, @CurrentPrincipal() principal: Principal) {
    return this.rosters.result(principal, id);
  }
}

@ApiTags('rosters')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1/rosters')
export class RostersController {
  constructor(private readonly rosters: RostersService) {}

  @Get(':divisionCode')
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'The roster of responsible persons (责任人名册) per county',
    description:
      'Each responsible person with their contacts and when each last worked in a roster check; ' +
      'people without a supervisor, grids without a grid leader / member / group monitor, hazard ' +
      'points without a monitor (a responsible person with the group_monitor role), and per ' +
      "county the date the roster must be filed by (ROSTER_FILE_BY, or the county's own in " +
      'ROSTER_FILE_BY_COUNTY) and whether that county filed ' +
      'it (a people import with rows of the county).',
  })
  @ApiParam({ name: 'divisionCode', example: '513221', description: 'any level' })
  @ApiOkResponse({ type: RosterView })
  @ApiErrors(400)
  roster(@Param('divisionCode') code: string, @CurrentPrincipal() principal: Principal) {
    return this.rosters.roster(principal, code);
  }
}
