import type { CsvColumn } from './csv';
import type { ChainRow, GroupRow } from './reports.types';

const col = <R>(key: keyof R & string, en: string, zh: string): CsvColumn<R> => ({
  key,
  en,
  zh,
  value: (r: R) => r[key],
});

/** Columns of the chains export, one row per person in the chain. */
export const CHAIN_COLUMNS: CsvColumn<ChainRow>[] = [
  col('personId', 'person_id', '人员ID'),
  col('externalId', 'external_id', '人员编号'),
  col('name', 'name', '姓名'),
  col('role', 'role', '角色'),
  col('divisionCode', 'division_code', '行政区划代码'),
  col('gridCode', 'grid_code', '网格代码'),
  col('contact', 'contact', '联系方式'),
  col('state', 'state', '状态'),
  col('attempts', 'attempts', '联系次数'),
  col('firstAttemptAt', 'first_attempt_at', '首次联系时间'),
  col('deliveredAt', 'delivered_at', '送达时间'),
  col('heardAt', 'heard_at', '收听时间'),
  col('confirmedAt', 'confirmed_at', '确认时间'),
  col('answerChannel', 'answer_channel', '应答渠道'),
  col('escalatedFromName', 'escalated_from', '升级自'),
  col('escalationReason', 'escalation_reason', '升级原因'),
  col('notWoken', 'not_woken', '未叫醒'),
  col('helpRequestedAt', 'help_requested_at', '请求支援时间'),
  col('enteredAt', 'entered_at', '进入叫应链时间'),
  col('entryToAnswerSeconds', 'entry_to_answer_s', '进入至应答(秒)'),
  col('stepDeadlineAt', 'step_deadline_at', '本步骤时限'),
  col('issueToFirstAttemptSeconds', 'issue_to_first_attempt_s', '发布至首次联系(秒)'),
  col('issueToAnswerSeconds', 'issue_to_answer_s', '发布至应答(秒)'),
  col('firstAttemptToAnswerSeconds', 'first_attempt_to_answer_s', '首次联系至应答(秒)'),
  col('deadlineBreached', 'deadline_breached', '超时未达'),
];

/** Columns of the report export, one row per group (township, village, grid or role). */
export const GROUP_COLUMNS: CsvColumn<GroupRow>[] = [
  col('groupBy', 'group_by', '分组方式'),
  col('key', 'group', '分组'),
  col('name', 'name', '名称'),
  col('people', 'people', '人数'),
  col('targeted', 'targeted', '应叫人数'),
  col('reached', 'reached', '已送达人数'),
  col('confirmed', 'confirmed', '已确认人数'),
  col('coverage', 'coverage', '覆盖率'),
  col('confirmationRate', 'confirmation_rate', '确认率'),
  col('medianSeconds', 'median_response_s', '响应时间中位数(秒)'),
  col('p90Seconds', 'p90_response_s', '响应时间P90(秒)'),
  col('deadlineBreaches', 'deadline_breaches', '超时人数'),
  col('neverReached', 'never_reached', '未触达人数'),
];
