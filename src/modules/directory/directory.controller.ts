import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import {
  DivisionView,
  GridView,
  PersonView,
  RobotView,
  TargetPreviewView,
} from './directory.responses';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { assertWithinJurisdiction, withinJurisdiction } from '../auth/jurisdiction';
import { DivisionQueryDto, TargetPreviewDto } from './directory.dto';
import { TargetingService } from './targeting/targeting.service';

/** Read access to the directory, and the recipient preview a duty officer sees before issuing. */
@ApiTags('directory')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1/directory')
export class DirectoryController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly targeting: TargetingService,
  ) {}

  @Get('divisions')
  @Roles('admin', 'duty_officer', 'auditor')
  @ApiOperation({
    summary: 'List administrative divisions (行政区划)',
    description: 'Filtered by parent and level; at most 1000, by code.',
  })
  @ApiOkResponse({ type: [DivisionView] })
  @ApiErrors(400)
  async divisions(@Query() q: DivisionQueryDto) {
    return this.db.query(
      `SELECT code, name, level, parent_code AS "parentCode" FROM divisions
        WHERE ($1::text IS NULL OR parent_code = $1) AND ($2::text IS NULL OR level = $2)
        ORDER BY code LIMIT 1000`,
      [q.parent ?? null, q.level ?? null],
    );
  }

  /** A grid and its people: grid members see only their own grid. */
  @Get('grids/:code')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: 'A grid (网格) and its people with their contact points',
    description: 'Grid members see only their own grid; duty officers grids of their jurisdiction.',
  })
  @ApiParam({ name: 'code', example: '513221001001001' })
  @ApiOkResponse({ type: GridView })
  @ApiErrors(404)
  async grid(@Param('code') code: string, @CurrentPrincipal() principal: Principal) {
    if (principal.role === 'grid_member' && principal.gridCode !== code) {
      throw new AppException(
        ErrorCode.Forbidden,
        '只能查看本网格',
        'Grid members see only their own grid',
      );
    }
    const [grid] = await this.db.query(
      `SELECT code, name, village_code AS "villageCode" FROM grids WHERE code = $1`,
      [code],
    );
    if (!grid) throw AppException.notFound('网格 grid', code);
    if (principal.role === 'duty_officer')
      assertWithinJurisdiction(principal, [grid.villageCode], 'code');
    const people = await this.db.query(
      `SELECT p.id, p.external_id AS "externalId", p.name, p.role, p.title,
              coalesce(json_agg(json_build_object('kind', c.kind, 'value', c.value, 'priority', c.priority)
                       ORDER BY c.priority) FILTER (WHERE c.id IS NOT NULL), '[]') AS contacts
         FROM people p LEFT JOIN contact_points c ON c.person_id = p.id
        WHERE p.grid_code = $1 GROUP BY p.id ORDER BY p.role, p.name LIMIT 5000`,
      [code],
    );
    return { ...grid, people };
  }

  @Get('people/:id')
  @Roles('admin', 'duty_officer', 'auditor')
  @ApiOperation({
    summary: 'A person, by id or directory id, with contact points',
    description: 'Outside the jurisdiction of a duty officer: 404.',
  })
  @ApiParam({ name: 'id', description: 'uuid or external (directory) id', example: 'P-0001' })
  @ApiOkResponse({ type: PersonView })
  @ApiErrors(404)
  async person(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    const [person] = await this.db.query(
      `SELECT p.id, p.external_id AS "externalId", p.name, p.role, p.title, p.division_code AS "divisionCode",
              p.grid_code AS "gridCode", p.supervisor_id AS "supervisorId",
              coalesce((SELECT json_agg(json_build_object('kind', kind, 'value', value, 'priority', priority,
                        'verifiedAt', verified_at) ORDER BY priority) FROM contact_points WHERE person_id = p.id), '[]') AS contacts
         FROM people p WHERE p.external_id = $1 OR p.id::text = $1`,
      [id],
    );
    if (!person || !withinJurisdiction(principal, person.divisionCode))
      throw AppException.notFound('人员 person', id);
    return person;
  }

  /** Robots without their webhook URLs or secrets, which never leave the database in clear. */
  @Get('robots')
  @Roles('admin')
  @ApiOperation({
    summary: 'List group robots (WeCom / DingTalk / Feishu)',
    description: 'Without webhook URLs or secrets; `parent` filters by division code prefix.',
  })
  @ApiOkResponse({ type: [RobotView] })
  @ApiErrors(400)
  async robots(@Query() q: DivisionQueryDto) {
    return this.db.query(
      `SELECT code, platform, name, division_code AS "divisionCode", grid_code AS "gridCode",
              secret_encrypted IS NOT NULL AS "hasSecret"
         FROM group_robots WHERE ($1::text IS NULL OR starts_with(division_code, $1)) ORDER BY code LIMIT 5000`,
      [q.parent ?? null],
    );
  }

  /** How many people a set of targets reaches, by role: what a duty officer sees before sending. */
  @Post('targeting/preview')
  @Roles('admin', 'duty_officer')
  @ApiOperation({
    summary: 'Preview the recipients of a set of targets, by role',
    description: 'What a duty officer sees before issuing; unknown codes are 400, naming them.',
  })
  @ApiCreatedResponse({ type: TargetPreviewView })
  @ApiErrors(400, 413)
  async preview(@Body() dto: TargetPreviewDto, @CurrentPrincipal() principal: Principal) {
    const query = {
      areas: dto.areas ?? [],
      hazardPoints: dto.hazardPoints ?? [],
      riskZones: dto.riskZones ?? [],
      roles: dto.roles,
    };
    const unknown = await this.targeting.findUnknownTargets(query);
    const problems = Object.entries(unknown)
      .filter(([, codes]) => (codes as string[]).length > 0)
      .map(([field, codes]) => ({
        field,
        message: `unknown codes: ${(codes as string[]).join(', ')}`,
      }));
    if (problems.length) throw AppException.validation(problems);
    if (principal.role === 'duty_officer')
      assertWithinJurisdiction(principal, query.areas, 'areas');
    const byRole = await this.targeting.countByRole(query);
    const total = Object.values(byRole).reduce<number>((a, b) => a + Number(b), 0);
    return { total, byRole };
  }
}
