import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppException } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import type { Principal } from '../../common/auth/auth.decorators';
import { assertWithinJurisdiction } from '../auth/jurisdiction';
import { type PersonRole, RESPONSIBLE_ROLES } from '../../common/domain/directory.types';
import { DEAD_CODES } from '../reports/reports.repository';
import { contactMasker } from '../reports/mask';
import { WarningsService } from '../warnings/warnings.service';
import { DIVISION_CODE } from './rosters.dto';
import { countyFileBy, fileByDate } from './roster-filing';

/** The role that monitors a hazard point (群测群防员): another responsible person is not one. */
const MONITOR_ROLE: PersonRole = 'group_monitor';

/** Roles that make a grid covered: someone on the ground for it. */
const GRID_ROLES = ['grid_leader', 'grid_member', 'group_monitor'];

/** What a contact point showed in a roster check, best first. */
export type ContactCheckStatus =
  'answered' | 'delivered' | 'dead_number' | 'no_answer' | 'not_tried';

const DEAD = `a.status = 'failed' AND a.channel IN ('sms', 'voice')
  AND (a.outcome IN ('undelivered', 'invalid', 'failed') OR a.error_code IN (${DEAD_CODES.map((c) => `'${c}'`).join(', ')}))`;
const WORKED = `(a.delivered_at IS NOT NULL OR a.status = 'delivered' OR (a.status = 'completed' AND a.heard))`;

interface DivisionRow {
  code: string;
  name: string;
  level: string;
}

interface ContactRow {
  personId: string;
  externalId: string;
  name: string;
  role: string;
  divisionCode: string;
  gridCode: string | null;
  deliveryState: string;
  contactId: string;
  kind: string;
  value: string;
  priority: number;
  verifiedAt: string | null;
  attempts: number;
  tried: number;
  answeredAt: Date | null;
  deliveredAt: Date | null;
  dead: boolean;
  errorCode: string | null;
}

/**
 * Roster checks (名册测试: a test warning to every responsible person of a division, and which of
 * their numbers work) and the roster report (名册: contacts with when each was last confirmed,
 * gaps in the chain, and whether the yearly roster was filed).
 */
@Injectable()
export class RostersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly warnings: WarningsService,
    private readonly audit: AuditService,
  ) {}

  /** A division by code, or 400 naming `field` when there is none. */
  private async division(code: string, field: string): Promise<DivisionRow> {
    if (!DIVISION_CODE.test(code))
      throw AppException.validation([
        { field, message: `${field} must be a division code of 2, 4, 6, 9 or 12 digits` },
      ]);
    const [row] = await rows<DivisionRow>(
      this.db,
      `SELECT code, name, level FROM divisions WHERE code = $1`,
      [code],
    );
    if (!row)
      throw AppException.validation([
        { field, message: `unknown division ${code} (未知行政区划)` },
      ]);
    return row;
  }

  /** POST /v1/roster-checks: a test warning to the responsible persons of the division. */
  async create(principal: Principal, code: string) {
    const div = await this.division(code, 'jurisdiction');
    assertWithinJurisdiction(principal, [div.code], 'jurisdiction');
    const now = Date.now();
    const issued = await this.warnings.issue(principal, {
      kind: 'meteorological_risk',
      status: 'test',
      level: 'blue',
      hazard: 'landslide',
      headline: `${div.name}防灾责任人名册测试`,
      description: `${div.name}防灾责任人联系方式测试，不是预警。`,
      instruction: '收到请按1或回复1确认',
      areas: [div.code],
      audience: RESPONSIBLE_ROLES,
      effective: new Date(now).toISOString(),
      expires: new Date(now + 24 * 3600_000).toISOString(),
    } as never);
    const warning = issued.body as { id: string; recipients: number; nationalId: string };
    const [check] = await this.db.transaction(async (m) => {
      const inserted = await rows<{ id: string; createdAt: Date }>(
        m,
        `INSERT INTO roster_checks (warning_id, division_code, token_id) VALUES ($1, $2, $3)
         RETURNING id, created_at AS "createdAt"`,
        [warning.id, div.code, principal.tokenId],
      );
      await this.audit.append(
        [
          {
            actor: principal.tokenId,
            action: 'roster_check.created',
            subjectType: 'roster_check',
            subjectId: inserted[0].id,
            warningId: warning.id,
            data: { divisionCode: div.code, recipients: warning.recipients },
          },
        ],
        m,
      );
      return inserted;
    });
    return {
      id: check.id,
      warningId: warning.id,
      nationalId: warning.nationalId,
      divisionCode: div.code,
      divisionName: div.name,
      recipients: warning.recipients,
      createdAt: check.createdAt,
    };
  }

  /** GET /v1/roster-checks/:id: per person and contact point, whether it works. */
  async result(principal: Principal, id: string) {
    const [check] = await rows<{
      id: string;
      warningId: string;
      divisionCode: string;
      divisionName: string;
      createdAt: Date;
    }>(
      this.db,
      `SELECT r.id, r.warning_id AS "warningId", r.division_code AS "divisionCode",
              d.name AS "divisionName", r.created_at AS "createdAt"
         FROM roster_checks r JOIN divisions d ON d.code = r.division_code WHERE r.id = $1`,
      [id],
    );
    if (
      !check ||
      (principal.role === 'duty_officer' &&
        !check.divisionCode.startsWith(principal.jurisdiction ?? '\u0000'))
    )
      throw AppException.notFound('名册测试 roster check', id);
    await this.markVerified([check.warningId]);
    const contacts = await this.contactRows(check.warningId);
    const mask = contactMasker(principal);

    interface PersonResult {
      personId: string;
      externalId: string;
      name: string;
      role: string;
      divisionCode: string;
      gridCode: string | null;
      deliveryState: string;
      contacts: { status: ContactCheckStatus; [k: string]: unknown }[];
    }
    const people = new Map<string, PersonResult>();
    const counts: Record<ContactCheckStatus, number> = {
      answered: 0,
      delivered: 0,
      dead_number: 0,
      no_answer: 0,
      not_tried: 0,
    };
    const toFix: Record<string, unknown>[] = [];
    for (const c of contacts) {
      let person = people.get(c.personId);
      if (!person) {
        person = {
          personId: c.personId,
          externalId: c.externalId,
          name: c.name,
          role: c.role,
          divisionCode: c.divisionCode,
          gridCode: c.gridCode,
          deliveryState: c.deliveryState,
          contacts: [],
        };
        people.set(c.personId, person);
      }
      if (!c.contactId) continue;
      const status: ContactCheckStatus = c.answeredAt
        ? 'answered'
        : c.deliveredAt
          ? 'delivered'
          : c.dead
            ? 'dead_number'
            : c.tried > 0
              ? 'no_answer'
              : 'not_tried';
      counts[status]++;
      const contact = {
        contactPointId: c.contactId,
        kind: c.kind,
        value: mask(c.value),
        priority: c.priority,
        status,
        works: status === 'answered' || status === 'delivered',
        attempts: c.attempts,
        errorCode: c.errorCode,
        verifiedAt: c.verifiedAt,
      };
      person.contacts.push(contact);
      if (status === 'dead_number')
        toFix.push({
          personId: c.personId,
          name: c.name,
          role: c.role,
          contactPointId: c.contactId,
          kind: c.kind,
          value: mask(c.value),
          errorCode: c.errorCode,
        });
    }
    const list = [...people.values()].map((p) => {
      const statuses = p.contacts.map((c) => c.status);
      const status: ContactCheckStatus | 'no_contact' = !statuses.length
        ? 'no_contact'
        : ((['answered', 'delivered', 'no_answer', 'dead_number', 'not_tried'] as const).find(
            (s) =>
              s === 'dead_number'
                ? statuses.every((x) => x === 'dead_number')
                : statuses.includes(s),
          ) ?? 'not_tried');
      return {
        ...p,
        status,
        answered: ['confirmed', 'declined'].includes(String(p.deliveryState)),
      };
    });
    return {
      ...check,
      people: list.length,
      contactPoints: counts,
      answeredPeople: list.filter((p) => p.answered).length,
      results: list,
      numbersToFix: toFix,
      peopleWithoutContact: list
        .filter((p) => p.status === 'no_contact')
        .map((p) => ({ personId: p.personId, name: p.name, role: p.role })),
    };
  }

  /** Each contact point of each recipient of the check's warning, with what its attempts showed. */
  private contactRows(warningId: string): Promise<ContactRow[]> {
    return rows<ContactRow>(
      this.db,
      `SELECT p.id AS "personId", p.external_id AS "externalId", p.name, d.role,
              d.division_code AS "divisionCode", d.grid_code AS "gridCode", d.state AS "deliveryState",
              cp.id AS "contactId", cp.kind, cp.value, cp.priority,
              to_char(cp.verified_at, 'YYYY-MM-DD') AS "verifiedAt",
              coalesce(x.attempts, 0)::int AS attempts, coalesce(x.tried, 0)::int AS tried,
              x.answered_at AS "answeredAt", x.delivered_at AS "deliveredAt",
              coalesce(x.dead, false) AS dead, x.error_code AS "errorCode"
         FROM deliveries d
         JOIN people p ON p.id = d.person_id
         LEFT JOIN contact_points cp ON cp.person_id = d.person_id
         LEFT JOIN LATERAL (
           SELECT count(DISTINCT a.id) AS attempts,
                  count(DISTINCT a.id) FILTER (WHERE a.status NOT IN ('queued', 'cancelled')) AS tried,
                  min(coalesce(a.delivered_at, a.completed_at)) FILTER (WHERE ${WORKED}) AS delivered_at,
                  bool_or(${DEAD}) AS dead,
                  max(a.error_code) FILTER (WHERE a.status = 'failed') AS error_code,
                  min(an.received_at) AS answered_at
             FROM contact_attempts a
             LEFT JOIN answers an ON an.attempt_id = a.id AND an.about = 'alert'
            WHERE a.delivery_id = d.id AND a.purpose = 'warning'
              AND a.contact_kind = cp.kind AND a.address = cp.value
         ) x ON cp.id IS NOT NULL
        WHERE d.warning_id = $1 AND d.escalated_from IS NULL
        ORDER BY d.division_code, d.role, p.name, p.id, cp.priority`,
      [warningId],
    );
  }

  /** Contact points that worked in these roster checks get verified_at (Beijing date) moved forward. */
  private async markVerified(warningIds: string[]): Promise<void> {
    if (!warningIds.length) return;
    await this.db.query(
      `WITH worked AS (
         SELECT cp.id, min(coalesce(an.received_at, a.delivered_at, a.completed_at)) AS at
           FROM deliveries d
           JOIN contact_attempts a ON a.delivery_id = d.id AND a.purpose = 'warning'
           JOIN contact_points cp ON cp.person_id = d.person_id AND cp.kind = a.contact_kind AND cp.value = a.address
           LEFT JOIN answers an ON an.attempt_id = a.id AND an.about = 'alert'
          WHERE d.warning_id = ANY ($1::uuid[]) AND (${WORKED} OR an.id IS NOT NULL)
          GROUP BY cp.id)
       UPDATE contact_points cp SET verified_at = (w.at AT TIME ZONE 'Asia/Shanghai')::date
         FROM worked w
        WHERE cp.id = w.id AND w.at IS NOT NULL
          AND (cp.verified_at IS NULL OR cp.verified_at < (w.at AT TIME ZONE 'Asia/Shanghai')::date)`,
      [warningIds],
    );
  }

  /** GET /v1/rosters/:divisionCode: the roster of each county (or of the given division). */
  async roster(principal: Principal, code: string, now = new Date()) {
    const div = await this.division(code, 'divisionCode');
    assertWithinJurisdiction(principal, [div.code], 'divisionCode');
    // Roster checks of the area not looked at yet still count for "last confirmed".
    const checks = await rows<{ warningId: string }>(
      this.db,
      `SELECT warning_id AS "warningId" FROM roster_checks
        WHERE starts_with(division_code, $1) OR starts_with($1, division_code)`,
      [div.code],
    );
    await this.markVerified(checks.map((c) => c.warningId));

    const units =
      div.level === 'province' || div.level === 'city'
        ? await rows<DivisionRow>(
            this.db,
            `SELECT code, name, level FROM divisions
              WHERE level = 'county' AND starts_with(code, $1) ORDER BY code`,
            [div.code],
          )
        : [div];
    // The default filing date; a county may have its own (ROSTER_FILE_BY_COUNTY).
    const fileBy = fileByDate(now);
    const fileByOf = (code: string) => fileByDate(now, countyFileBy(code));
    // People imports this year (Beijing time) with the counties each named (its event lists the
    // counties of its rows). An event recorded before imports named their counties counts for
    // every county that has people, as it did then.
    const imports = await rows<{ county: string | null; at: Date }>(
      this.db,
      `SELECT c.county, e.at
         FROM audit_events e
         LEFT JOIN LATERAL jsonb_array_elements_text(
                CASE WHEN jsonb_typeof(e.data->'counties') = 'array' THEN e.data->'counties' END
              ) AS c(county) ON true
        WHERE e.action = 'directory.imported' AND e.subject_id = 'people'
          AND e.at >= (date_trunc('year', $1::date)::timestamp AT TIME ZONE 'Asia/Shanghai')
          AND e.at < ((date_trunc('year', $1::date) + interval '1 year')::timestamp AT TIME ZONE 'Asia/Shanghai')`,
      [fileBy],
    );
    /**
     * The last people import of the counties `code` is in or below (a county's own for a
     * county), made by its filing date `by` (inclusive, Beijing time).
     */
    const importedAt = (code: string, by: string): Date | null => {
      const county = code.slice(0, 6);
      const end = Date.parse(`${by}T00:00:00+08:00`) + 24 * 3600_000;
      return imports
        .filter(
          (r) =>
            (r.county === null || r.county.startsWith(county)) && new Date(r.at).getTime() < end,
        )
        .map((r) => new Date(r.at))
        .reduce<Date | null>((a, b) => (a && a > b ? a : b), null);
    };
    const mask = contactMasker(principal);
    const divisions = [];
    for (const unit of units) {
      const by = fileByOf(unit.code);
      divisions.push(await this.unitRoster(unit, mask, by, importedAt(unit.code, by), now));
    }
    return {
      divisionCode: div.code,
      divisionName: div.name,
      level: div.level,
      fileBy,
      divisions,
    };
  }

  private async unitRoster(
    unit: DivisionRow,
    mask: (v: string | null | undefined) => string | null,
    fileBy: string,
    importedAt: Date | null,
    now: Date,
  ) {
    const people = await rows<{
      id: string;
      externalId: string;
      name: string;
      role: string;
      divisionCode: string;
      gridCode: string | null;
      supervisorId: string | null;
      supervisorName: string | null;
      contacts: {
        id: string;
        kind: string;
        value: string;
        priority: number;
        verifiedAt: string | null;
      }[];
    }>(
      this.db,
      `SELECT p.id, p.external_id AS "externalId", p.name, p.role, p.division_code AS "divisionCode",
              p.grid_code AS "gridCode", p.supervisor_id AS "supervisorId", s.name AS "supervisorName",
              coalesce((SELECT json_agg(json_build_object('id', cp.id, 'kind', cp.kind, 'value', cp.value,
                        'priority', cp.priority, 'verifiedAt', to_char(cp.verified_at, 'YYYY-MM-DD'))
                        ORDER BY cp.priority, cp.id)
                   FROM contact_points cp WHERE cp.person_id = p.id), '[]') AS contacts
         FROM people p LEFT JOIN people s ON s.id = p.supervisor_id
        WHERE starts_with(p.division_code, $1) AND p.role <> 'resident'
        ORDER BY p.division_code, p.role, p.name, p.id`,
      [unit.code],
    );
    const grids = await rows<{ code: string; name: string; villageCode: string }>(
      this.db,
      `SELECT g.code, g.name, g.village_code AS "villageCode" FROM grids g
        WHERE starts_with(g.village_code, $1)
          AND NOT EXISTS (SELECT 1 FROM people p WHERE p.grid_code = g.code AND p.role = ANY ($2::text[]))
        ORDER BY g.code`,
      [unit.code, GRID_ROLES],
    );
    const sites = await rows<{ code: string; name: string; hazard: string; divisionCode: string }>(
      this.db,
      `SELECT h.code, h.name, h.hazard, h.division_code AS "divisionCode" FROM hazard_sites h
        WHERE h.type = 'hazard_point' AND starts_with(h.division_code, $1)
          AND NOT EXISTS (SELECT 1 FROM hazard_site_people hp JOIN people m ON m.id = hp.person_id
                           WHERE hp.site_code = h.code AND hp.relation = 'responsible'
                             AND m.role = $2)
        ORDER BY h.code`,
      [unit.code, MONITOR_ROLE],
    );
    const roster = people.map((p) => ({
      personId: p.id,
      externalId: p.externalId,
      name: p.name,
      role: p.role,
      divisionCode: p.divisionCode,
      gridCode: p.gridCode,
      supervisor: p.supervisorId ? { personId: p.supervisorId, name: p.supervisorName } : null,
      contacts: p.contacts.map((c) => ({
        contactPointId: c.id,
        kind: c.kind,
        value: mask(c.value),
        priority: c.priority,
        lastConfirmedAt: c.verifiedAt,
      })),
    }));
    const filed = !!importedAt && people.length > 0;
    return {
      code: unit.code,
      name: unit.name,
      level: unit.level,
      people: roster,
      // The top of a county's chain (区县责任人) reports to the county duty office, not a person.
      peopleWithoutSupervisor: roster
        .filter((p) => !p.supervisor && p.role !== 'county_responsible')
        .map((p) => ({
          personId: p.personId,
          name: p.name,
          role: p.role,
          divisionCode: p.divisionCode,
        })),
      peopleWithoutConfirmedContact: roster
        .filter((p) => !p.contacts.some((c) => c.lastConfirmedAt))
        .map((p) => ({ personId: p.personId, name: p.name, role: p.role })),
      gridsWithoutResponsible: grids,
      hazardPointsWithoutMonitor: sites,
      filing: {
        fileBy,
        filed,
        lastPeopleImportAt: importedAt,
        overdue: !filed && now.getTime() >= Date.parse(`${fileBy}T00:00:00+08:00`) + 24 * 3600_000,
      },
    };
  }
}
