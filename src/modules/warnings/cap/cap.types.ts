import type { ParsedNationalId } from '../../../common/domain/national-id';
import type {
  HazardType,
  MessageType,
  NamedPlace,
  WarningImpact,
  WarningKind,
  WarningLevel,
  WarningStatus,
} from '../../../common/domain/warning.types';

export const CAP_NAMESPACE = 'urn:oasis:names:tc:emergency:cap:1.2';

/**
 * Names used in `<parameter>` and `<geocode>` (valueName). Exported by `toCapXml`; `parseCapXml`
 * also accepts the aliases listed in cap-parse.ts.
 *
 * parameter:
 * - `color`            red | orange | yellow | blue (the warning colour, 预警颜色)
 * - `level`            1 | 2 | 3 | 4 (一级 … 四级; red is 1)
 * - `warningKind`      meteorological_risk | imminent
 * - `hazard`           landslide | collapse | debris_flow | ground_subsidence | ground_fissure |
 *                      flash_flood | rainstorm | geological_composite
 * - `version`          version number of the warning (1 for the first issue)
 * - `extent`, `impactPeople`, `impactHouseholds`, `shelter`   imminent-warning details
 *
 * geocode:
 * - `ADCODE`        administrative division code: 6-digit GB/T 2260 (province, city, county,
 *                   e.g. 513221) or 9/12-digit statistical division code (township, village);
 *                   one `<area>` per division, `areaDesc` = its name;
 * - `HAZARD_POINT`  gateway code of a hazard point (隐患点), one `<area>` each;
 * - `RISK_ZONE`     gateway code of a risk zone (风险区), one `<area>` each.
 */
export const CAP_PARAM = {
  color: 'color',
  level: 'level',
  kind: 'warningKind',
  hazard: 'hazard',
  version: 'version',
  extent: 'extent',
  impactPeople: 'impactPeople',
  impactHouseholds: 'impactHouseholds',
  shelter: 'shelter',
} as const;

export const CAP_GEOCODE = {
  division: 'ADCODE',
  hazardPoint: 'HAZARD_POINT',
  riskZone: 'RISK_ZONE',
} as const;

export const CAP_STATUSES = ['Actual', 'Exercise', 'System', 'Test', 'Draft'] as const;
export const CAP_MSG_TYPES = ['Alert', 'Update', 'Cancel', 'Ack', 'Error'] as const;
export const CAP_SCOPES = ['Public', 'Restricted', 'Private'] as const;
// prettier-ignore
export const CAP_CATEGORIES = [
  'Geo', 'Met', 'Safety', 'Security', 'Rescue', 'Fire', 'Health', 'Env', 'Transport', 'Infra', 'CBRNE', 'Other',
] as const;
// prettier-ignore
export const CAP_RESPONSE_TYPES = [
  'Shelter', 'Evacuate', 'Prepare', 'Execute', 'Avoid', 'Monitor', 'Assess', 'AllClear', 'None',
] as const;
export const CAP_URGENCIES = ['Immediate', 'Expected', 'Future', 'Past', 'Unknown'] as const;
export const CAP_SEVERITIES = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'] as const;
export const CAP_CERTAINTIES = ['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown'] as const;

export type CapScope = (typeof CAP_SCOPES)[number];
export type CapCategory = (typeof CAP_CATEGORIES)[number];
export type CapResponseType = (typeof CAP_RESPONSE_TYPES)[number];
export type CapUrgency = (typeof CAP_URGENCIES)[number];
export type CapSeverity = (typeof CAP_SEVERITIES)[number];
export type CapCertainty = (typeof CAP_CERTAINTIES)[number];

export interface CapValuePair {
  valueName: string;
  value: string;
}

export interface CapReference {
  sender: string;
  identifier: string;
  sent: Date;
}

export interface ParsedCapArea {
  areaDesc: string;
  polygons: string[];
  circles: string[];
  geocodes: CapValuePair[];
}

export interface ParsedCapInfo {
  language: string;
  categories: CapCategory[];
  event: string;
  responseTypes: CapResponseType[];
  urgency: CapUrgency;
  severity: CapSeverity;
  certainty: CapCertainty;
  eventCodes: CapValuePair[];
  effective?: Date;
  onset?: Date;
  expires?: Date;
  senderName?: string;
  headline?: string;
  description?: string;
  instruction?: string;
  web?: string;
  contact?: string;
  parameters: CapValuePair[];
  areas: ParsedCapArea[];
  /** Inferred: imminent when urgency is Immediate, the event says 临灾, or a parameter says so. */
  kind: WarningKind;
  /** From the colour / level parameter, else from severity. */
  level: WarningLevel;
  /** From the hazard parameter, else from event / eventCode / headline wording, else category. */
  hazard: HazardType;
  /** Administrative division codes found in geocodes (ADCODE and aliases). */
  areaCodes: string[];
  divisions: NamedPlace[];
  hazardPoints: NamedPlace[];
  riskZones: NamedPlace[];
  version?: number;
  extent?: string;
  impact?: WarningImpact;
  shelter?: string;
}

export interface ParsedCapAlert {
  identifier: string;
  /** Set when the identifier is a national release-system id. */
  nationalId?: ParsedNationalId;
  sender: string;
  sent: Date;
  status: WarningStatus;
  msgType: MessageType;
  scope: CapScope;
  source?: string;
  note?: string;
  references: CapReference[];
  /** Identifiers of the referenced messages, in order. */
  referenceIds: string[];
  infos: ParsedCapInfo[];
}

export interface CapIssue {
  /** Path of the element, e.g. `alert/info[0]/severity`. */
  element: string;
  message: string;
}

export class CapValidationError extends Error {
  override readonly name = 'CapValidationError';
  constructor(readonly issues: CapIssue[]) {
    super(`Invalid CAP alert:\n${issues.map((i) => `- ${i.element}: ${i.message}`).join('\n')}`);
  }

  get elements(): string[] {
    return this.issues.map((i) => i.element);
  }
}
