import {
  CHAIN_STATE_ZH,
  CHANNEL_ZH,
  ESCALATION_REASON_ZH,
  GROUP_BY_ZH,
  ROLE_ZH,
} from './export-values';
import type { ChainRow, GroupRow } from './reports.types';

/**
 * What a column holds, which decides its spreadsheet cell type:
 * - `text`: ids, names, phone-like numbers, division and grid codes: always a text cell, never a
 *   number (a code such as 513221001001 must not turn into 5.13E+11, nor lose a leading zero);
 * - `int` / `number`: counts and seconds; `ratio`: 0–1, shown as a percentage;
 * - `date`: a date-time cell; `bool`: true / false (是 / 否 in Chinese).
 */
export type CellKind = 'text' | 'int' | 'number' | 'ratio' | 'date' | 'bool';

export interface ExportColumn<R> {
  key: string;
  en: string;
  zh: string;
  kind: CellKind;
  value: (row: R) => unknown;
  /** Chinese labels of the column's coded values (states, channels, roles, reasons). */
  zhValues?: Record<string, string>;
  /** Width in characters in the spreadsheet. */
  width?: number;
}

const col = <R>(
  key: keyof R & string,
  en: string,
  zh: string,
  kind: CellKind,
  extra: Partial<ExportColumn<R>> = {},
): ExportColumn<R> => ({ key, en, zh, kind, value: (r: R) => r[key], ...extra });

/** Columns of the chains export, one row per person in the chain. */
export const CHAIN_COLUMNS: ExportColumn<ChainRow>[] = [
  col('personId', 'person_id', '人员ID', 'text', { width: 38 }),
  col('externalId', 'external_id', '人员编号', 'text', { width: 16 }),
  col('name', 'name', '姓名', 'text', { width: 12 }),
  col('role', 'role', '角色', 'text', { zhValues: ROLE_ZH, width: 16 }),
  col('divisionCode', 'division_code', '行政区划代码', 'text', { width: 15 }),
  col('gridCode', 'grid_code', '网格代码', 'text', { width: 18 }),
  col('contact', 'contact', '联系方式', 'text', { width: 18 }),
  col('state', 'state', '状态', 'text', { zhValues: CHAIN_STATE_ZH, width: 12 }),
  col('attempts', 'attempts', '联系次数', 'int'),
  col('firstAttemptAt', 'first_attempt_at', '首次联系时间', 'date'),
  col('deliveredAt', 'delivered_at', '送达时间', 'date'),
  col('heardAt', 'heard_at', '收听时间', 'date'),
  col('confirmedAt', 'confirmed_at', '确认时间', 'date'),
  col('answerChannel', 'answer_channel', '应答渠道', 'text', { zhValues: CHANNEL_ZH, width: 12 }),
  col('escalatedFromName', 'escalated_from', '升级自', 'text', { width: 12 }),
  col('escalationReason', 'escalation_reason', '升级原因', 'text', {
    zhValues: ESCALATION_REASON_ZH,
    width: 16,
  }),
  col('notWoken', 'not_woken', '未叫醒', 'bool'),
  col('helpRequestedAt', 'help_requested_at', '请求支援时间', 'date'),
  col('enteredAt', 'entered_at', '进入叫应链时间', 'date'),
  col('entryToAnswerSeconds', 'entry_to_answer_s', '进入至应答(秒)', 'number'),
  col('stepDeadlineAt', 'step_deadline_at', '本步骤时限', 'date'),
  col('answeredInStepTime', 'answered_in_step_time', '本步骤时限内应答', 'bool'),
  col('issueToFirstAttemptSeconds', 'issue_to_first_attempt_s', '发布至首次联系(秒)', 'number'),
  col('issueToAnswerSeconds', 'issue_to_answer_s', '发布至应答(秒)', 'number'),
  col('firstAttemptToAnswerSeconds', 'first_attempt_to_answer_s', '首次联系至应答(秒)', 'number'),
  col('reachedInTime', 'reached_in_time', '时限内送达', 'bool'),
  col('deadlineBreached', 'deadline_breached', '超时未达', 'bool'),
  col('firstNoticeAt', 'first_notice_at', '首次通知时间', 'date'),
  col('noticeAcknowledgedAt', 'notice_acknowledged_at', '通知确认时间', 'date'),
  col('noticeAckChannel', 'notice_ack_channel', '通知确认渠道', 'text', {
    zhValues: CHANNEL_ZH,
    width: 12,
  }),
  col('noticeAckSeconds', 'notice_ack_s', '通知至确认(秒)', 'number'),
];

/**
 * Columns of the report export, one row per group (township, village, grid or role). The group
 * key is a division or grid code, or a role: for roles, the Chinese name column names the role.
 */
export const GROUP_COLUMNS: ExportColumn<GroupRow>[] = [
  col('groupBy', 'group_by', '分组方式', 'text', { zhValues: GROUP_BY_ZH }),
  col('key', 'group', '分组', 'text', { width: 18 }),
  col('name', 'name', '名称', 'text', { width: 18 }),
  col('people', 'people', '人数', 'int'),
  col('targeted', 'targeted', '应叫人数', 'int'),
  col('reached', 'reached', '已送达人数', 'int'),
  col('confirmed', 'confirmed', '已确认人数', 'int'),
  col('coverage', 'coverage', '覆盖率', 'ratio'),
  col('confirmationRate', 'confirmation_rate', '确认率', 'ratio'),
  col('medianSeconds', 'median_response_s', '响应时间中位数(秒)', 'number'),
  col('p90Seconds', 'p90_response_s', '响应时间P90(秒)', 'number'),
  col('deadlineBreaches', 'deadline_breaches', '超时人数', 'int'),
  col('neverReached', 'never_reached', '未触达人数', 'int'),
];

/** Role groups have no name of their own: in Chinese the role's name stands in. */
export function nameRoleGroup(lang: 'zh' | 'en'): (row: GroupRow) => GroupRow {
  return (row) =>
    lang === 'zh' && row.groupBy === 'role' && row.key && !row.name
      ? { ...row, name: ROLE_ZH[row.key] ?? row.name }
      : row;
}
