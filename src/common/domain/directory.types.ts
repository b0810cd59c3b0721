/** Administrative division levels and the length of their codes (a code's prefix is its ancestry). */
export const DIVISION_LEVELS = ['province', 'city', 'county', 'township', 'village'] as const;
export type DivisionLevel = (typeof DIVISION_LEVELS)[number];

export const DIVISION_CODE_LENGTH: Record<DivisionLevel, number> = {
  province: 2,
  city: 4,
  county: 6,
  township: 9,
  village: 12,
};

export function divisionLevelOf(code: string): DivisionLevel | undefined {
  if (!/^\d+$/.test(code)) return undefined;
  return DIVISION_LEVELS.find((level) => DIVISION_CODE_LENGTH[level] === code.length);
}

/** The code of the division one level up, or undefined for a province. */
export function parentDivisionCode(code: string): string | undefined {
  const level = divisionLevelOf(code);
  if (!level || level === 'province') return undefined;
  const parentLevel = DIVISION_LEVELS[DIVISION_LEVELS.indexOf(level) - 1];
  return code.slice(0, DIVISION_CODE_LENGTH[parentLevel]);
}

/** Roles of people in the directory (domain.md, "Places and people"). */
export const PERSON_ROLES = [
  'county_responsible', // 区县防汛/防灾责任人
  'township_responsible', // 乡镇防汛/防灾责任人
  'village_responsible', // 村(社区)防汛/防灾责任人
  'duty_officer', // 值班员
  'grid_leader', // 网格长
  'grid_member', // 网格员
  'group_monitor', // 群测群防员
  'area_lead', // 片区负责人
  'resident_geologist', // 驻守地质队员
  'technical_manager', // 区县技术管理员
  'resident', // 居民
] as const;
export type PersonRole = (typeof PERSON_ROLES)[number];

/** Everyone with a duty in the chain: all roles but residents. */
export const RESPONSIBLE_ROLES: PersonRole[] = PERSON_ROLES.filter((r) => r !== 'resident');

export const PERSON_ROLE_NAMES_ZH: Record<PersonRole, string> = {
  county_responsible: '区县责任人',
  township_responsible: '乡镇责任人',
  village_responsible: '村级责任人',
  duty_officer: '值班员',
  grid_leader: '网格长',
  grid_member: '网格员',
  group_monitor: '群测群防员',
  area_lead: '片区负责人',
  resident_geologist: '驻守地质队员',
  technical_manager: '区县技术管理员',
  resident: '居民',
};

/** Contact point kinds, in the order a person would usually be tried. */
export const CONTACT_KINDS = [
  'mobile',
  'landline',
  'satellite',
  'wecom',
  'dingtalk',
  'feishu',
  'email',
] as const;
export type ContactKind = (typeof CONTACT_KINDS)[number];

/** Contact kinds whose value is a phone number (validated and stored as E.164). */
export const PHONE_CONTACT_KINDS: ReadonlySet<ContactKind> = new Set([
  'mobile',
  'landline',
  'satellite',
]);

export const HAZARD_SITE_TYPES = ['hazard_point', 'risk_zone'] as const;
export type HazardSiteType = (typeof HAZARD_SITE_TYPES)[number];

/** How a person relates to a hazard point or risk zone. */
export const SITE_RELATIONS = ['threatened', 'responsible'] as const;
export type SiteRelation = (typeof SITE_RELATIONS)[number];

export const ROBOT_PLATFORMS = ['wecom', 'dingtalk', 'feishu'] as const;
export type RobotPlatform = (typeof ROBOT_PLATFORMS)[number];
