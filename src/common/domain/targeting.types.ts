import type { ContactKind, PersonRole } from './directory.types';

/**
 * What a warning targets. See targeting.service.ts for the exact semantics; in short, the
 * recipients are the distinct people reached by any area, hazard point or risk zone, then
 * filtered by role.
 */
export interface TargetQuery {
  /**
   * Division codes of any level (2, 4, 6, 9 or 12 digits): everyone at or below each of them; or
   * grid codes (网格, a village's 12 digits and the grid's number): everyone of that grid.
   */
  areas: string[];
  /** Codes of hazard_sites of type `hazard_point` (隐患点). */
  hazardPoints: string[];
  /** Codes of hazard_sites of type `risk_zone` (风险区). */
  riskZones: string[];
  /** Keep only people with one of these roles. Absent or empty: every role. */
  roles?: PersonRole[];
}

export interface RecipientContact {
  kind: ContactKind;
  value: string;
  /** Lower is tried first; a recipient's contacts come sorted by it. */
  priority: number;
  /** ISO date (YYYY-MM-DD) the contact was last verified, or null. */
  verifiedAt: string | null;
}

export interface Recipient {
  personId: string;
  externalId: string;
  name: string;
  role: PersonRole;
  divisionCode: string;
  gridCode: string | null;
  /** Escalation target when this person does not answer. */
  supervisorId: string | null;
  /** Ordered by priority (then kind, value); empty when the person has no contact point. */
  contacts: RecipientContact[];
}

/** Targets of a query that name nothing in the directory (input order, each once). */
export interface UnknownTargets {
  /**
   * Malformed codes, well-formed division codes with no row in `divisions`, and grid codes with no
   * row in `grids`.
   */
  areas: string[];
  /** Codes with no hazard site of type `hazard_point` (a risk zone's code given here counts). */
  hazardPoints: string[];
  /** Codes with no hazard site of type `risk_zone`. */
  riskZones: string[];
  /** Roles outside PERSON_ROLES. */
  roles: string[];
}

export function hasUnknownTargets(unknown: UnknownTargets): boolean {
  return (
    unknown.areas.length > 0 ||
    unknown.hazardPoints.length > 0 ||
    unknown.riskZones.length > 0 ||
    unknown.roles.length > 0
  );
}

export interface TargetStreamOptions {
  /** Recipients per yielded batch (and per FETCH from the server-side cursor). Default 1000. */
  batchSize?: number;
  /**
   * The server ends the stream's session when the consumer leaves it idle inside the cursor's
   * transaction for longer than this (guards against an iterator that is abandoned without being
   * closed). Default 10 minutes; 0 disables it.
   */
  idleTimeoutMs?: number;
}
