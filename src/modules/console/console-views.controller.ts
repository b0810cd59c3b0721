import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import {
  ConsoleMeView,
  GridWarningView,
  VillageGridsView,
  WarningBroadcastsView,
} from './console.responses';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppException } from '../../common/errors/app.exception';
import { UuidPipe } from '../../common/http/params';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { assertWithinJurisdiction } from '../auth/jurisdiction';
import { WarningsService } from '../warnings/warnings.service';

/**
 * What each role may do from the console. The page shows only these actions; the server still
 * checks every call (these mirror the routes' @Roles).
 */
export const CONSOLE_ACTIONS = {
  issue: ['duty_officer'],
  watch: ['duty_officer', 'auditor'],
  update: ['duty_officer'],
  cancel: ['duty_officer'],
  callAgain: ['duty_officer'],
  assignTask: ['duty_officer'],
  confirmOnSite: ['duty_officer', 'grid_member'],
  completeTask: ['duty_officer', 'grid_member'],
  audit: ['auditor'],
  periodReport: ['duty_officer', 'auditor', 'grid_member'],
  chains: ['duty_officer', 'auditor', 'grid_member'],
  /** The audit tab (chains, exports, period report); a grid member's own view has what they need. */
  reviewTab: ['duty_officer', 'auditor'],
  myGrid: ['grid_member'],
  gridLookup: ['admin', 'duty_officer', 'auditor', 'grid_member'],
  /** The hazard reports tab (list, one report); filing one; the imminent warning from one. */
  hazardReports: ['duty_officer', 'auditor', 'grid_member'],
  fileHazardReport: ['duty_officer', 'grid_member'],
  warnFromReport: ['duty_officer'],
  /** The rosters tab (roster check results, roster report); starting a roster check. */
  rosters: ['duty_officer', 'auditor'],
  rosterCheck: ['duty_officer'],
} as const;
export type ConsoleAction = keyof typeof CONSOLE_ACTIONS;

/**
 * Small read-only views the console needs and the API does not give: who the token is and what
 * it may do, the active warnings of a grid member's grid, a village's grids (to pick one for a
 * door-to-door task about a person with no grid) and the loudspeakers' playback receipts.
 */
@ApiTags('console')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1/console')
export class ConsoleViewsController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly warnings: WarningsService,
  ) {}

  /** The token's role, scope and the console actions it may use. */
  @Get('me')
  @Roles('admin', 'duty_officer', 'auditor', 'grid_member')
  @ApiOperation({ summary: "The token's role, scope and the console actions it may use" })
  @ApiOkResponse({ type: ConsoleMeView })
  async me(@CurrentPrincipal() principal: Principal) {
    const can = (Object.keys(CONSOLE_ACTIONS) as ConsoleAction[]).filter((a) =>
      (CONSOLE_ACTIONS[a] as readonly string[]).includes(principal.role),
    );
    let grid: Record<string, unknown> | null = null;
    if (principal.gridCode) {
      const [g] = await this.db.query(
        `SELECT g.code, g.name, g.village_code AS "villageCode", v.name AS village
           FROM grids g LEFT JOIN divisions v ON v.code = g.village_code WHERE g.code = $1`,
        [principal.gridCode],
      );
      grid = g ?? { code: principal.gridCode, name: null };
    }
    return {
      name: principal.name,
      role: principal.role,
      jurisdiction: principal.jurisdiction,
      grid,
      can,
    };
  }

  /** A grid member's active warnings (those that reached their grid), with the grid's counts. */
  @Get('grid/warnings')
  @Roles('grid_member')
  @ApiOperation({
    summary: "A grid member's active warnings, with the grid's counts",
    description: 'Those that reached the grid; at most 50, newest first.',
  })
  @ApiOkResponse({ type: [GridWarningView] })
  async gridWarnings(@CurrentPrincipal() principal: Principal) {
    return this.db.query(
      `SELECT w.id, w.kind, w.status, w.state, v.level, v.national_id AS "nationalId",
              v.content->>'headline' AS headline, v.content->>'instruction' AS instruction,
              w.created_at AS "createdAt",
              count(d.id)::int AS total,
              count(d.id) FILTER (WHERE d.state = 'confirmed')::int AS confirmed,
              count(d.id) FILTER (WHERE d.state NOT IN ('confirmed', 'cancelled'))::int AS unconfirmed
         FROM warnings w
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
         JOIN deliveries d ON d.warning_id = w.id AND d.grid_code = $1
        WHERE w.state = 'active'
        GROUP BY w.id, v.id
        ORDER BY w.created_at DESC
        LIMIT 50`,
      [principal.gridCode],
    );
  }

  /** The grids of a village (a task about a village-level person needs one of them). */
  @Get('villages/:code/grids')
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'The grids of a village, with their head counts',
    description: 'To pick a grid for a door-to-door task about a village-level person.',
  })
  @ApiOkResponse({ type: VillageGridsView })
  @ApiErrors(400, 404)
  async villageGrids(@Param('code') code: string, @CurrentPrincipal() principal: Principal) {
    if (!/^[0-9]{12}$/.test(code)) {
      throw AppException.validation([
        { field: 'code', message: 'must be a 12-digit village code' },
      ]);
    }
    if (principal.role === 'duty_officer') assertWithinJurisdiction(principal, [code], 'code');
    const [village] = await this.db.query(`SELECT code, name FROM divisions WHERE code = $1`, [
      code,
    ]);
    if (!village) throw AppException.notFound('村 village', code);
    const grids = await this.db.query(
      `SELECT g.code, g.name, count(p.id)::int AS people
         FROM grids g LEFT JOIN people p ON p.grid_code = g.code
        WHERE g.village_code = $1 GROUP BY g.code ORDER BY g.code LIMIT 500`,
      [code],
    );
    return { ...village, grids };
  }

  /**
   * Loudspeaker playback receipts of a warning, per village: each terminal's last receipt for
   * each broadcast (played, failed / offline, or none yet).
   */
  @Get('warnings/:id/broadcasts')
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'Loudspeaker (应急广播) playback receipts of a warning, per village',
    description:
      "Each terminal's last receipt for each broadcast: played, failed / offline, or none yet.",
  })
  @ApiOkResponse({ type: WarningBroadcastsView })
  @ApiErrors(400, 404)
  async broadcasts(@Param('id', UuidPipe) id: string, @CurrentPrincipal() principal: Principal) {
    await this.warnings.findVisible(principal, id);
    const rows: {
      villageCode: string;
      village: string | null;
      version: number;
      msgType: string;
      sendStatus: string;
      terminalCode: string;
      terminalName: string | null;
      status: string | null;
      playedAt: Date | null;
      repeat: number | null;
      receivedAt: Date | null;
    }[] = await this.db.query(
      `SELECT gs.target_code AS "villageCode", v.name AS village, gs.version, gs.msg_type AS "msgType",
              gs.status AS "sendStatus", t.code AS "terminalCode", bt.name AS "terminalName",
              r.status, r.played_at AS "playedAt", r.repeat, r.received_at AS "receivedAt"
         FROM group_sends gs
         CROSS JOIN LATERAL unnest(gs.terminal_codes) AS t(code)
         LEFT JOIN broadcast_receipts r ON r.group_send_id = gs.id AND r.terminal_code = t.code
         LEFT JOIN broadcast_terminals bt ON bt.code = t.code
         LEFT JOIN divisions v ON v.code = gs.target_code
        WHERE gs.warning_id = $1 AND gs.channel = 'broadcast'
        ORDER BY gs.target_code, gs.version, gs.msg_type, t.code
        LIMIT 5000`,
      [id],
    );
    const villages = new Map<
      string,
      {
        villageCode: string;
        village: string | null;
        played: number;
        failed: number;
        waiting: number;
        receipts: Omit<(typeof rows)[number], 'villageCode' | 'village'>[];
      }
    >();
    for (const r of rows) {
      let v = villages.get(r.villageCode);
      if (!v) {
        v = {
          villageCode: r.villageCode,
          village: r.village,
          played: 0,
          failed: 0,
          waiting: 0,
          receipts: [],
        };
        villages.set(r.villageCode, v);
      }
      if (r.status === 'played') v.played++;
      else if (r.status) v.failed++;
      else v.waiting++;
      const { villageCode: _c, village: _v, ...receipt } = r;
      v.receipts.push(receipt);
    }
    return { villages: [...villages.values()] };
  }
}
