import { AppException, type FieldProblem } from '../../../common/errors/app.exception';
import { divisionLevelOf } from '../../../common/domain/directory.types';
import { GRID_CODE } from '../import/validators/patterns';
import type { TargetQuery } from '../../../common/domain/targeting.types';

/**
 * SQL for targeting, kept apart from the service so that it can be read (and unit-tested) alone.
 *
 * One recipient set is expressed as ONE predicate over `people p`, never as a UNION of id lists:
 *
 *   (  p.division_code >= $a1 AND p.division_code < $a1 || ':'     -- area 1 and everything below
 *   OR p.division_code >= $a2 AND p.division_code < $a2 || ':'     -- area 2 …
 *   OR p.id = ANY (ARRAY(<people linked to the sites, grid staff of the sites' grids>)) )
 *   AND p.role = ANY ($roles)                                     -- only when roles are given
 *
 * Because every person row is visited once, a person reached by several targets is one recipient
 * without any DISTINCT / hash of ids, and count(), countByRole() and stream() share the predicate.
 * The planner turns it into a BitmapOr of btree range scans on people_division_idx
 * (division_code, role) plus one scan of people_pkey with the site people (an InitPlan computed
 * once), or a sequential scan when the areas cover most of the table (a whole county).
 *
 * Area ranges: division codes are digit strings in COLLATE "C" (byte order), and a code's prefix
 * is its ancestry, so "code or below" is exactly the half-open range [code, code || ':') — ':' is
 * the byte right after '9'. Range scans need no LIKE and no text_pattern_ops index, and the range
 * can only hold strings that start with the code: township 513221001 gives
 * ['513221001', '513221001:'), which holds 513221001 and 513221001xxx but not its sibling
 * 513221010 nor its parent 513221; a village gives ['513221001001', '513221001001:').
 */

/** The byte after '9' in "C" order: [code, code + ':') is "code and every code it prefixes". */
export const RANGE_END_SUFFIX = ':';

/** A grid code (网格): its village's 12-digit code followed by the grid's own part. */
export function isGridCode(code: unknown): code is string {
  return (
    typeof code === 'string' && code.length <= (GRID_CODE.max ?? 32) && GRID_CODE.pattern.test(code)
  );
}

export interface NormalizedTargetQuery {
  /** Sorted, without duplicates and without codes already covered by an ancestor in the list. */
  areas: string[];
  /** Grid codes given among the areas, without duplicates. */
  grids: string[];
  hazardPoints: string[];
  riskZones: string[];
  /** Undefined: every role. */
  roles: string[] | undefined;
}

function unique(values: readonly string[] | undefined): string[] {
  return [...new Set(values ?? [])];
}

/**
 * Validates and simplifies a query.
 *
 * An area is a division code or a grid code (GRID_CODE: a village's 12 digits and the grid's own
 * part, longer than any division code): grids are split out into `grids`.
 *
 * Area codes must be well-formed division codes (2, 4, 6, 9 or 12 digits): a malformed one would
 * be a range over something else (the empty string would even be "everyone"), so it is rejected
 * with a validation error rather than ignored. Whether a code exists is findUnknownTargets'
 * business: an unknown but well-formed code simply reaches no one here.
 *
 * Areas nested in another listed area are dropped (513221 covers 513221001): after a byte-order
 * sort, the codes a kept code prefixes follow it directly, so comparing with the last kept code is
 * enough. The remaining ranges are disjoint.
 */
export function normalizeTargetQuery(query: TargetQuery): NormalizedTargetQuery {
  const problems: FieldProblem[] = [];
  const areas: string[] = [];
  const grids: string[] = [];
  for (const code of unique(query.areas)) {
    if (isGridCode(code)) grids.push(code);
    else if (typeof code === 'string' && divisionLevelOf(code)) areas.push(code);
    else {
      problems.push({
        field: 'areas',
        message: `not a division code (2, 4, 6, 9 or 12 digits) nor a grid code (a village's 12 digits and the grid's number): ${String(code)}`,
      });
    }
  }
  const hazardPoints = unique(query.hazardPoints).filter((c) => c !== '');
  const riskZones = unique(query.riskZones).filter((c) => c !== '');
  if (problems.length) throw AppException.validation(problems);

  areas.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const kept: string[] = [];
  for (const code of areas) {
    const last = kept[kept.length - 1];
    if (last !== undefined && code.startsWith(last)) continue;
    kept.push(code);
  }

  const roles = unique(query.roles);
  return { areas: kept, grids, hazardPoints, riskZones, roles: roles.length ? roles : undefined };
}

export interface TargetFilter {
  /** A boolean SQL expression over `people p`. */
  where: string;
  params: unknown[];
  /** False when the query has no target at all (the predicate is then `false`). */
  hasTargets: boolean;
}

/**
 * The person ids a set of hazard sites reaches: people linked to a site (threatened or
 * responsible), and the grid staff (every non-resident person) of the grids a site touches.
 * Codes are matched with the site type they were given as.
 */
function sitePeopleSql(hazardPointsParam: string, riskZonesParam: string): string {
  return `
    WITH sites AS (
      SELECT s.code FROM hazard_sites s
       WHERE (s.type = 'hazard_point' AND s.code = ANY (${hazardPointsParam}::varchar[]))
          OR (s.type = 'risk_zone' AND s.code = ANY (${riskZonesParam}::varchar[]))
    )
    SELECT sp.person_id
      FROM sites JOIN hazard_site_people sp ON sp.site_code = sites.code
    UNION
    SELECT staff.id
      FROM sites
      JOIN hazard_site_grids sg ON sg.site_code = sites.code
      JOIN people staff ON staff.grid_code = sg.grid_code AND staff.role <> 'resident'`;
}

export function buildTargetFilter(query: NormalizedTargetQuery): TargetFilter {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };

  const arms: string[] = [];
  for (const code of query.areas) {
    arms.push(
      `(p.division_code >= ${param(code)} AND p.division_code < ${param(code + RANGE_END_SUFFIX)})`,
    );
  }
  // A grid: every person of it (its residents and staff), by people_grid_idx.
  if (query.grids.length) arms.push(`p.grid_code = ANY (${param(query.grids)}::varchar[])`);
  if (query.hazardPoints.length || query.riskZones.length) {
    const sites = sitePeopleSql(param(query.hazardPoints), param(query.riskZones));
    arms.push(`p.id = ANY (ARRAY(${sites}\n    ))`);
  }
  if (!arms.length) return { where: 'false', params: [], hasTargets: false };

  let where = arms.length === 1 ? arms[0] : `(${arms.join('\n    OR ')})`;
  if (query.roles) where += `\n    AND p.role = ANY (${param(query.roles)}::text[])`;
  return { where, params, hasTargets: true };
}

/**
 * One row per recipient, the person's columns named as Recipient's fields, and `contacts` as a
 * JSON array of [kind, value, priority, verified_at] arrays (NULL when there are none), in no
 * particular order: the service sorts each recipient's few contacts.
 *
 * Measured at 1M people, a correlated subquery per person is the plan whose cost follows the
 * recipient count at every size (an index probe on contact_points_person_idx per recipient), and
 * building arrays without ORDER BY inside the aggregate is about half the server time of
 * json_build_object with an ordered json_agg (a tuplesort per person). A flat
 * people ⟕ contact_points join ordered by person is cheaper for a whole county but turns into a
 * full scan of contact_points for a township.
 */
export function recipientsSql(filter: TargetFilter): string {
  return `
    SELECT p.id AS "personId",
           p.external_id AS "externalId",
           p.name,
           p.role,
           p.division_code AS "divisionCode",
           p.grid_code AS "gridCode",
           p.supervisor_id AS "supervisorId",
           (SELECT json_agg(json_build_array(c.kind, c.value, c.priority, c.verified_at))
              FROM contact_points c
             WHERE c.person_id = p.id) AS contacts
      FROM people p
     WHERE ${filter.where}`;
}

/** A row of recipientsSql as node-postgres returns it (json parsed, uuids and text as strings). */
export interface RecipientRow {
  personId: string;
  externalId: string;
  name: string;
  role: string;
  divisionCode: string;
  gridCode: string | null;
  supervisorId: string | null;
  contacts: [kind: string, value: string, priority: number, verifiedAt: string | null][] | null;
}

export function countSql(filter: TargetFilter): string {
  return `SELECT count(*) AS n FROM people p WHERE ${filter.where}`;
}

export function countByRoleSql(filter: TargetFilter): string {
  return `SELECT p.role, count(*) AS n FROM people p WHERE ${filter.where} GROUP BY p.role`;
}
