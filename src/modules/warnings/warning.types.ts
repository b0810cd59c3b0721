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
}

export const LEVEL_NAMES_ZH: Record<WarningLevel, string> = {
  red: '一级（红色）',
  orange: '二级（橙色）',
  yellow: '三级（黄色）',
  blue: '四级（蓝色）',
};
