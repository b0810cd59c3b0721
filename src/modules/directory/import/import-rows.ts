import type {
  ContactKind,
  DivisionLevel,
  HazardSiteType,
  PersonRole,
  RobotPlatform,
} from '../../../common/domain/directory.types';
import type { HazardType } from '../../../common/domain/warning.types';

/** Validated rows, ready for the bulk writer. `row` is the data row they came from. */

export interface DivisionRow {
  row: number;
  code: string;
  name: string;
  level: DivisionLevel;
  parentCode: string | null;
}

export interface GridRow {
  row: number;
  code: string;
  name: string;
  villageCode: string;
}

export interface ContactValue {
  kind: ContactKind;
  /** E.164 for phones, lower-case for e-mail, as given for platform ids. */
  value: string;
}

export interface PersonRow {
  row: number;
  externalId: string;
  name: string;
  role: PersonRole;
  divisionCode: string;
  gridCode: string | null;
  /** External id of the escalation target. */
  supervisor: string | null;
  title: string | null;
  /** In CONTACT_KINDS order; only meaningful when the file has a contact column. */
  contacts: ContactValue[];
  verifiedAt: string | null;
}

export interface ContactRow {
  row: number;
  person: string;
  kind: ContactKind;
  value: string;
  priority: number | null;
  verifiedAt: string | null;
}

export interface HazardSiteRow {
  row: number;
  code: string;
  type: HazardSiteType;
  name: string;
  hazard: HazardType;
  divisionCode: string;
  latitude: number | null;
  longitude: number | null;
  threatenedPeople: number;
  threatenedHouseholds: number;
  grids: string[];
  /** External ids. */
  threatened: string[];
  responsible: string[];
}

export interface RobotRow {
  row: number;
  code: string;
  platform: RobotPlatform;
  name: string;
  divisionCode: string;
  gridCode: string | null;
  /** Plain text until the writer seals it; never logged. */
  webhookUrl: string;
  secret: string | null;
}

export interface BroadcastTerminalRow {
  row: number;
  code: string;
  name: string;
  divisionCode: string;
}
