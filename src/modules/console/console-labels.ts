import { DELIVERY_STATES, type DeliveryState } from '../chain/chain-states';
import {
  type ContactKind,
  PERSON_ROLES,
  type PersonRole,
} from '../../common/domain/directory.types';
import { HAZARD_GRADES, type HazardGrade } from '../../common/domain/hazard-grade';
import {
  CHAIN_STATE_ZH,
  CHANNEL_ZH,
  ESCALATION_REASON_ZH,
  GROUP_BY_ZH,
  ROLE_ZH,
  WARNING_STATUS_ZH,
} from '../reports/export-values';
import { TASK_OUTCOMES, TASK_TYPES } from '../tasks/tasks.dto';
import {
  HAZARD_NAMES_EN,
  HAZARD_NAMES_ZH,
  LEVEL_NAMES_EN,
  LEVEL_NAMES_ZH,
  WARNING_KIND_NAMES_EN,
  WARNING_KIND_NAMES_ZH,
  WARNING_STATUSES,
  type WarningStatus,
} from '../../common/domain/warning.types';

/**
 * The names of coded values (states, roles, channels …) that the console shows, in Chinese and
 * English, served by GET /v1/console/labels. The Chinese names are the server's own tables (the
 * ones the exports and messages use); the English ones sit here, typed by the code lists so a
 * value added on the server without a name fails to compile. The browser keeps no copy.
 */
export type LabelTable = Record<string, string>;
export interface LabelSet {
  zh: LabelTable;
  en: LabelTable;
}

const CHAIN_STATE_EN: Record<DeliveryState, string> = {
  pending: 'Pending',
  sent: 'Sent',
  delivered: 'Delivered',
  heard: 'Heard',
  confirmed: 'Confirmed',
  declined: 'Help',
  unreachable: 'Unreachable',
  cancelled: 'Cancelled',
};

const ROLE_EN: Record<PersonRole, string> = {
  county_responsible: 'County responsible',
  township_responsible: 'Township responsible',
  village_responsible: 'Village responsible',
  duty_officer: 'Duty officer',
  grid_leader: 'Grid leader',
  grid_member: 'Grid member',
  group_monitor: 'Group monitor',
  area_lead: 'Area lead',
  resident_geologist: 'Resident geologist',
  technical_manager: 'Technical manager',
  resident: 'Resident',
};

const CHANNEL_EN: Record<keyof typeof CHANNEL_ZH, string> = {
  sms: 'SMS',
  voice: 'Voice call',
  email: 'E-mail',
  wecom: 'WeCom',
  dingtalk: 'DingTalk',
  feishu: 'Feishu',
  broadcast: 'Loudspeaker',
  manual: 'Manual (door to door)',
  link: 'Confirmation link',
  on_site: 'On site',
};

const WARNING_STATUS_EN: Record<WarningStatus, string> = {
  actual: 'Actual',
  exercise: 'Exercise',
  test: 'Test',
};

/** A warning's life: the states of the warnings table. */
const WARNING_STATE: LabelSet = {
  zh: { active: '生效中', cancelled: '已解除', expired: '已过期' },
  en: { active: 'active', cancelled: 'cancelled', expired: 'expired' },
};

const TASK_TYPE: Record<'zh' | 'en', Record<(typeof TASK_TYPES)[number], string>> = {
  zh: { door_to_door: '敲门入户', gong_and_whistle: '鸣锣吹哨' },
  en: { door_to_door: 'Door to door', gong_and_whistle: 'Gong and whistle' },
};

const TASK_OUTCOME: Record<'zh' | 'en', Record<(typeof TASK_OUTCOMES)[number], string>> = {
  zh: {
    confirmed_on_site: '已当面告知，本人确认',
    evacuated: '已转移撤离',
    not_found: '未找到本人',
    refused: '拒绝撤离',
  },
  en: {
    confirmed_on_site: 'Told in person, confirmed',
    evacuated: 'Evacuated',
    not_found: 'Not found',
    refused: 'Refused to leave',
  },
};

const TASK_STATUS: LabelSet = {
  zh: { open: '待完成', done: '已完成', cancelled: '已取消' },
  en: { open: 'Open', done: 'Done', cancelled: 'Cancelled' },
};

const ESCALATION_REASON_EN: Record<keyof typeof ESCALATION_REASON_ZH, string> = {
  not_woken: 'Not woken',
  help_requested: 'Asked for help',
  group_silent: 'Grid silent',
};

/** The group rule's confirmation rules of a policy (`N`: the policy's count). */
const GROUP_CONFIRM_RULE: LabelSet = {
  zh: { one: '一人确认即可', all: '须全部确认', at_least: '须至少N人确认' },
  en: { one: 'One confirmation', all: 'All must confirm', at_least: 'At least N must confirm' },
};

const GROUP_BY_EN: Record<keyof typeof GROUP_BY_ZH, string> = {
  township: 'Township',
  village: 'Village',
  grid: 'Grid',
  role: 'Role',
};

/** 险情分级 (the grades are Chinese words; the Chinese names are the grades themselves). */
const HAZARD_GRADE: Record<'zh' | 'en', Record<HazardGrade, string>> = {
  zh: zhOf(HAZARD_GRADES, {}) as Record<HazardGrade, string>,
  en: { 特大型: 'Extra large', 大型: 'Large', 中型: 'Medium', 小型: 'Small' },
};

/** A hazard report's one-hour city deadline. */
const DEADLINE_STATUS: LabelSet = {
  zh: {
    not_required: '无需报市级',
    pending: '待市级确认',
    at_risk: '即将超时（已升级）',
    met: '市级已按时确认',
    missed: '市级确认超时',
  },
  en: {
    not_required: 'City not required',
    pending: 'Awaiting the city',
    at_risk: 'Close to the deadline (escalated)',
    met: 'City acknowledged in time',
    missed: 'City deadline missed',
  },
};

/** The levels a hazard report reaches and is acknowledged at. */
const REPORT_LEVEL: LabelSet = {
  zh: { county: '县级值班室', city: '市级值班室', county_responsible: '区县责任人' },
  en: {
    county: 'County duty office',
    city: 'City duty office',
    county_responsible: 'County responsible',
  },
};

/** What a contact point showed in a roster check. */
const CONTACT_STATUS: LabelSet = {
  zh: {
    answered: '已应答',
    delivered: '已送达',
    dead_number: '空号/停机',
    no_answer: '未应答',
    not_tried: '未尝试',
    no_contact: '无联系方式',
  },
  en: {
    answered: 'Answered',
    delivered: 'Delivered',
    dead_number: 'Dead number',
    no_answer: 'No answer',
    not_tried: 'Not tried',
    no_contact: 'No contact point',
  },
};

const CONTACT_KIND: Record<'zh' | 'en', Record<ContactKind, string>> = {
  zh: {
    mobile: '手机',
    landline: '固定电话',
    satellite: '卫星电话',
    wecom: '企业微信',
    dingtalk: '钉钉',
    feishu: '飞书',
    email: '电子邮件',
  },
  en: {
    mobile: 'Mobile',
    landline: 'Landline',
    satellite: 'Satellite phone',
    wecom: 'WeCom',
    dingtalk: 'DingTalk',
    feishu: 'Feishu',
    email: 'E-mail',
  },
};

/** Every value of `codes` with its Chinese name from the server's table (the code when none). */
function zhOf(codes: readonly string[], table: LabelTable): LabelTable {
  return Object.fromEntries(codes.map((c) => [c, table[c] ?? c]));
}

export interface ConsoleLabels {
  deliveryStates: LabelSet;
  roles: LabelSet;
  channels: LabelSet;
  warningStates: LabelSet;
  warningStatuses: LabelSet;
  kinds: LabelSet;
  levels: LabelSet;
  hazards: LabelSet;
  taskTypes: LabelSet;
  taskOutcomes: LabelSet;
  taskStatuses: LabelSet;
  escalationReasons: LabelSet;
  groupConfirmRules: LabelSet;
  groupBy: LabelSet;
  hazardGrades: LabelSet;
  deadlineStatuses: LabelSet;
  reportLevels: LabelSet;
  contactStatuses: LabelSet;
  contactKinds: LabelSet;
}

/** The label tables of GET /v1/console/labels (built once; they change only with the code). */
export const CONSOLE_LABELS: ConsoleLabels = {
  deliveryStates: { zh: zhOf(DELIVERY_STATES, CHAIN_STATE_ZH), en: CHAIN_STATE_EN },
  roles: { zh: zhOf(PERSON_ROLES, ROLE_ZH), en: ROLE_EN },
  channels: { zh: { ...CHANNEL_ZH }, en: CHANNEL_EN },
  warningStates: WARNING_STATE,
  warningStatuses: { zh: zhOf(WARNING_STATUSES, WARNING_STATUS_ZH), en: WARNING_STATUS_EN },
  kinds: { zh: WARNING_KIND_NAMES_ZH, en: WARNING_KIND_NAMES_EN },
  levels: { zh: LEVEL_NAMES_ZH, en: LEVEL_NAMES_EN },
  hazards: { zh: HAZARD_NAMES_ZH, en: HAZARD_NAMES_EN },
  taskTypes: TASK_TYPE,
  taskOutcomes: TASK_OUTCOME,
  taskStatuses: TASK_STATUS,
  escalationReasons: { zh: { ...ESCALATION_REASON_ZH }, en: ESCALATION_REASON_EN },
  groupConfirmRules: GROUP_CONFIRM_RULE,
  groupBy: { zh: { ...GROUP_BY_ZH }, en: GROUP_BY_EN },
  hazardGrades: HAZARD_GRADE,
  deadlineStatuses: DEADLINE_STATUS,
  reportLevels: REPORT_LEVEL,
  contactStatuses: CONTACT_STATUS,
  contactKinds: CONTACT_KIND,
};
