import { PERSON_ROLE_NAMES_ZH } from '../../common/domain/directory.types';

/**
 * Chinese labels of the coded values that appear in exports (`?headers=zh`): chain states,
 * channels, roles, escalation reasons, groupings and yes / no. A value without a label (a role or
 * channel added later) is written as it is rather than dropped.
 */
export const CHAIN_STATE_ZH: Record<string, string> = {
  pending: '待发送',
  sent: '已发送',
  delivered: '已送达',
  heard: '已收听',
  confirmed: '已确认',
  declined: '求助',
  unreachable: '无法联系',
  cancelled: '已取消',
};

/** Delivery channels and the ways an answer can come in. */
export const CHANNEL_ZH: Record<string, string> = {
  sms: '短信',
  voice: '语音电话',
  email: '电子邮件',
  wecom: '企业微信',
  dingtalk: '钉钉',
  feishu: '飞书',
  broadcast: '应急广播',
  manual: '人工（入户）',
  link: '确认链接',
  on_site: '现场确认',
};

export const ROLE_ZH: Record<string, string> = { ...PERSON_ROLE_NAMES_ZH };

export const ESCALATION_REASON_ZH: Record<string, string> = {
  not_woken: '未叫醒',
  help_requested: '请求支援',
  group_silent: '网格无人应答',
};

export const GROUP_BY_ZH: Record<string, string> = {
  township: '乡镇',
  village: '村',
  grid: '网格',
  role: '角色',
};

export const WARNING_STATUS_ZH: Record<string, string> = {
  actual: '正式',
  exercise: '演练',
  test: '测试',
};

export const YES_NO_ZH = { true: '是', false: '否' } as const;

/** The label of `value` in `dictionary`, or the value itself. */
export function labelOf(dictionary: Record<string, string>, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return Object.prototype.hasOwnProperty.call(dictionary, value) ? dictionary[value] : value;
}
