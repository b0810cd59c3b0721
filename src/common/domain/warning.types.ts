/**
 * The warning as the rest of the gateway sees it: what templates render, what CAP maps, what
 * dispatch fans out. Persistence (entities) is built from and to this shape.
 */
export const WARNING_KINDS = ['meteorological_risk', 'imminent'] as const;
export type WarningKind = (typeof WARNING_KINDS)[number];

/** 一级 red, 二级 orange, 三级 yellow, 四级 blue. */
export const WARNING_LEVELS = ['red', 'orange', 'yellow', 'blue'] as const;
export type WarningLevel = (typeof WARNING_LEVELS)[number];

export const WARNING_STATUSES = ['actual', 'exercise', 'test'] as const;
export type WarningStatus = (typeof WARNING_STATUSES)[number];

/** What a dispatched message is about: the first alert, a new version, or the release (解除). */
export const MESSAGE_TYPES = ['alert', 'update', 'cancel'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const HAZARD_TYPES = [
  'landslide',
  'collapse',
  'debris_flow',
  'ground_subsidence',
  'ground_fissure',
  'flash_flood',
  'rainstorm',
  'geological_composite',
] as const;
export type HazardType = (typeof HAZARD_TYPES)[number];

export interface NamedPlace {
  code: string;
  name: string;
}

export interface WarningImpact {
  people: number;
  households: number;
}

export interface WarningContent {
  id: string;
  /** 31 chars: ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N */
  nationalId: string;
  version: number;
  msgType: MessageType;
  /** National ids of the earlier versions this message updates or cancels. */
  references: string[];
  kind: WarningKind;
  level: WarningLevel;
  hazard: HazardType;
  status: WarningStatus;
  headline: string;
  description: string;
  instruction: string;
  areas: NamedPlace[];
  hazardPoints: NamedPlace[];
  riskZones: NamedPlace[];
  /** Imminent warnings: extent of the threatened area, impact and shelter. */
  extent?: string;
  impact?: WarningImpact;
  shelter?: string;
  sentAt: Date;
  effective: Date;
  onset?: Date;
  expires: Date;
  issuer: { name: string; divisionCode: string; agencyCode: string };
  /** Imported from a CAP feed: the feed's `sender`, kept so that exports name the original issuer. */
  capSender?: string;
}

export const LEVEL_NAMES_ZH: Record<WarningLevel, string> = {
  red: '一级（红色）',
  orange: '二级（橙色）',
  yellow: '三级（黄色）',
  blue: '四级（蓝色）',
};

/* ---- Additive: display names and codes shared by templates and CAP mapping. ---- */

/** Colour only, as printed in headlines: 红色预警, 橙色预警 … */
export const LEVEL_COLOURS_ZH: Record<WarningLevel, string> = {
  red: '红色',
  orange: '橙色',
  yellow: '黄色',
  blue: '蓝色',
};

/** Rank only: 一级 … 四级. */
export const LEVEL_RANKS_ZH: Record<WarningLevel, string> = {
  red: '一级',
  orange: '二级',
  yellow: '三级',
  blue: '四级',
};

/** Numeric rank: 1 (red, highest) … 4 (blue). */
export const LEVEL_NUMBERS: Record<WarningLevel, 1 | 2 | 3 | 4> = {
  red: 1,
  orange: 2,
  yellow: 3,
  blue: 4,
};

export const LEVEL_NAMES_EN: Record<WarningLevel, string> = {
  red: 'Red (Level I)',
  orange: 'Orange (Level II)',
  yellow: 'Yellow (Level III)',
  blue: 'Blue (Level IV)',
};

export const HAZARD_NAMES_ZH: Record<HazardType, string> = {
  landslide: '滑坡',
  collapse: '崩塌',
  debris_flow: '泥石流',
  ground_subsidence: '地面塌陷',
  ground_fissure: '地裂缝',
  flash_flood: '山洪',
  rainstorm: '暴雨',
  geological_composite: '地质灾害',
};

export const HAZARD_NAMES_EN: Record<HazardType, string> = {
  landslide: 'landslide',
  collapse: 'rockfall/collapse',
  debris_flow: 'debris flow',
  ground_subsidence: 'ground subsidence',
  ground_fissure: 'ground fissure',
  flash_flood: 'flash flood',
  rainstorm: 'rainstorm',
  geological_composite: 'geological hazard',
};

export const WARNING_KIND_NAMES_ZH: Record<WarningKind, string> = {
  meteorological_risk: '地质灾害气象风险预警',
  imminent: '临灾预警',
};

export const WARNING_KIND_NAMES_EN: Record<WarningKind, string> = {
  meteorological_risk: 'geological-hazard meteorological risk warning',
  imminent: 'imminent-disaster warning',
};
