import type { FieldProblem } from '../../common/errors/app.exception';
import { type PersonRole, RESPONSIBLE_ROLES } from '../../common/domain/directory.types';
import type { WarningKind, WarningLevel, WarningStatus } from '../../common/domain/warning.types';
import type { WarningBodyDto } from './dto/create-warning.dto';

/** The longest validity a warning may have; meteorological risk warnings are typically 24 h. */
const MAX_VALIDITY_MS = 7 * 24 * 3600_000;

/**
 * The legally required elements that plain field validation cannot express (domain.md,
 * "Warnings"). Returns every problem, naming the field; an empty list means the warning may go.
 */
export function checkWarningRules(
  kind: WarningKind,
  body: WarningBodyDto,
  now = new Date(),
  status: WarningStatus = 'actual',
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (status === 'test' && body.audience?.includes('resident'))
    problems.push({
      field: 'audience',
      message: 'a test warning never reaches residents or public loudspeakers (测试预警不发给居民)',
    });
  const targets =
    (body.areas?.length ?? 0) + (body.hazardPoints?.length ?? 0) + (body.riskZones?.length ?? 0);
  const effective = new Date(body.effective);
  const expires = new Date(body.expires);

  if (expires <= effective)
    problems.push({ field: 'expires', message: 'expires must be after effective' });
  else if (expires.getTime() - effective.getTime() > MAX_VALIDITY_MS) {
    problems.push({ field: 'expires', message: 'a warning may be valid for at most 7 days' });
  }
  if (expires <= now) problems.push({ field: 'expires', message: 'expires must be in the future' });

  if (kind === 'meteorological_risk') {
    // 气象风险预警: names its risk areas, a level and a validity window.
    if (!body.areas?.length)
      problems.push({
        field: 'areas',
        message: 'a meteorological risk warning must name its risk areas',
      });
  } else {
    // 临灾预警: expected time, place, extent, impact and where to evacuate.
    if (!body.onset)
      problems.push({
        field: 'onset',
        message: 'an imminent warning must carry the expected onset time',
      });
    if (targets === 0) {
      problems.push({
        field: 'hazardPoints',
        message: 'an imminent warning must name a hazard point, risk zone or area',
      });
    }
    if (!body.extent?.trim())
      problems.push({ field: 'extent', message: 'an imminent warning must describe the extent' });
    if (!body.impact)
      problems.push({
        field: 'impact',
        message: 'an imminent warning must state the people and households threatened',
      });
    if (!body.shelter?.trim())
      problems.push({
        field: 'shelter',
        message: 'an imminent warning must say where to evacuate',
      });
  }
  return problems;
}

/**
 * Who a warning reaches when the issuer does not say. Imminent warnings and red/orange risk
 * warnings reach the public too; yellow reaches every responsible person; blue (internal in many
 * provinces) the responsible persons and technical staff only.
 */
export function defaultAudience(
  kind: WarningKind,
  level: WarningLevel,
  status: WarningStatus = 'actual',
): PersonRole[] {
  // A test never reaches residents (nor, so, the public loudspeakers): responsible persons only.
  if (status === 'test') return RESPONSIBLE_ROLES;
  if (kind === 'imminent' || level === 'red' || level === 'orange')
    return [...RESPONSIBLE_ROLES, 'resident'];
  if (level === 'yellow') return RESPONSIBLE_ROLES;
  return [
    'county_responsible',
    'township_responsible',
    'village_responsible',
    'duty_officer',
    'technical_manager',
    'resident_geologist',
    'grid_leader',
  ];
}
