export const CHAIN_STATES = [
  'pending',
  'sent',
  'delivered',
  'heard',
  'confirmed',
  'declined',
  'unreachable',
  'cancelled',
] as const;

export const GROUP_BYS = ['township', 'village', 'grid', 'role'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export const WARNING_STATUSES = ['actual', 'exercise', 'test'] as const;
export type WarningStatus = (typeof WARNING_STATUSES)[number];

export type ExportFormat = 'csv' | 'xlsx';

/** How an export is written: its format, language (headers and values) and time zone (xlsx). */
export interface ExportOptions {
  format: ExportFormat;
  lang: 'zh' | 'en';
  timeZone: string;
}

export interface ChainFilters {
  states?: string[];
  division?: string;
  grid?: string;
  role?: string;
}

/** What a report is computed over: one warning, or every warning of a period and status. */
export type ReportScope =
  | { kind: 'warning'; warningId: string; gridCode: string | null }
  | {
      kind: 'period';
      from: Date;
      to: Date;
      status: WarningStatus;
      jurisdiction: string | null;
      gridCode: string | null;
    };

export interface ChainRow {
  deliveryId: string;
  personId: string;
  externalId: string;
  name: string;
  role: string;
  divisionCode: string;
  gridCode: string | null;
  state: string;
  contact: string | null;
  attempts: number;
  firstAttemptAt: Date | null;
  deliveredAt: Date | null;
  heardAt: Date | null;
  confirmedAt: Date | null;
  answerChannel: string | null;
  escalatedFromPersonId: string | null;
  escalatedFromName: string | null;
  escalationReason: string | null;
  notWoken: boolean;
  notWokenAt: Date | null;
  /** A request for help, flagged on top of the first answer. */
  helpRequestedAt: Date | null;
  /** When the person entered the chain (the issue, or the escalation that brought them in). */
  enteredAt: Date;
  entryToAnswerSeconds: number | null;
  /** The deadline of the step the person is at or answered in. */
  stepDeadlineAt: Date | null;
  /** Answered (confirmed or asked for help) by `stepDeadlineAt`; null: not answered or no step. */
  answeredInStepTime: boolean | null;
  issueToFirstAttemptSeconds: number | null;
  issueToDeliverySeconds: number | null;
  issueToAnswerSeconds: number | null;
  firstAttemptToAnswerSeconds: number | null;
  reachDeadlineSeconds: number | null;
  /** Reached by the reach deadline (from entry); null: not reached yet or no deadline. */
  reachedInTime: boolean | null;
  deadlineBreached: boolean | null;
  /** When the first notice edge to the person was made (null: no notice to them). */
  firstNoticeAt: Date | null;
  /** Their first acknowledgement of a notice, its channel, and seconds from `firstNoticeAt`. */
  noticeAcknowledgedAt: Date | null;
  noticeAckChannel: string | null;
  noticeAckSeconds: number | null;
}

export interface GroupRow {
  groupBy: GroupBy;
  key: string | null;
  name: string | null;
  people: number;
  targeted: number;
  reached: number;
  confirmed: number;
  coverage: number | null;
  confirmationRate: number | null;
  medianSeconds: number | null;
  p90Seconds: number | null;
  deadlineBreaches: number;
  neverReached: number;
}

export interface AttemptRow {
  id: string;
  version: number;
  msgType: string;
  seq: number;
  purpose: string;
  channel: string;
  contactKind: string;
  address: string | null;
  priority: number;
  status: string;
  outcome: string | null;
  provider: string | null;
  providerId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  tries: number;
  segments: number | null;
  durationSeconds: number | null;
  heard: boolean;
  digits: string | null;
  taskId: string | null;
  queuedAt: Date;
  sentAt: Date | null;
  deliveredAt: Date | null;
  answeredAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
}
