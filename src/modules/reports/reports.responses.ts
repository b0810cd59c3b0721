import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CHANNEL_KINDS } from '../../channels/channel.types';
import { PERSON_ROLES } from '../../common/domain/directory.types';
import { CHAIN_STATES, GROUP_BYS, WARNING_STATUSES } from './reports.types';

/** Response shapes of the chains and reports routes (OpenAPI only; the handlers build them). */

const ANSWER_CHANNELS = [...CHANNEL_KINDS, 'link', 'on_site'];
const REASONS = ['not_woken', 'help_requested', 'group_silent'];
const UUID_EXAMPLE = '3f0b6f0e-8a2c-4c8e-9f51-2f7f3d9b1a10';
const TIME = '2026-07-01T08:30:05.000Z';

export class ChainRowView {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) deliveryId: string;
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) personId: string;
  @ApiProperty({ description: 'the directory id of the person', example: 'P-0001' })
  externalId: string;
  @ApiProperty({ example: '王村长' }) name: string;
  @ApiProperty({ enum: PERSON_ROLES, description: 'grid_leader 网格长, resident 居民, …' })
  role: string;
  @ApiProperty({ example: '513221001001' }) divisionCode: string;
  @ApiProperty({ type: String, nullable: true, example: '513221001001001' })
  gridCode: string | null;
  @ApiProperty({
    enum: CHAIN_STATES,
    description: 'confirmed 已确认, declined 求助, unreachable 无法联系, …',
  })
  state: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'first phone number (or other contact); masked for auditors and grid members',
    example: '+86138****0004',
  })
  contact: string | null;
  @ApiProperty({ description: 'contact attempts so far', example: 2 }) attempts: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: TIME })
  firstAttemptAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deliveredAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) heardAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) confirmedAt: Date | null;
  @ApiProperty({ type: String, nullable: true, enum: ANSWER_CHANNELS, example: 'voice' })
  answerChannel: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  escalatedFromPersonId: string | null;
  @ApiProperty({ type: String, nullable: true }) escalatedFromName: string | null;
  @ApiProperty({ type: String, nullable: true, enum: REASONS }) escalationReason: string | null;
  @ApiProperty({
    description: '未叫醒: every call went unanswered and the person has not answered',
  })
  notWoken: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) notWokenAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  helpRequestedAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', description: 'entry into the chain' })
  enteredAt: Date;
  @ApiProperty({ type: Number, nullable: true, example: 42.5 })
  entryToAnswerSeconds: number | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  stepDeadlineAt: Date | null;
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description:
      'answered (confirmed or asked for help) by stepDeadlineAt; null: not answered, or no step',
  })
  answeredInStepTime: boolean | null;
  @ApiProperty({ type: Number, nullable: true }) issueToFirstAttemptSeconds: number | null;
  @ApiProperty({ type: Number, nullable: true }) issueToDeliverySeconds: number | null;
  @ApiProperty({ type: Number, nullable: true }) issueToAnswerSeconds: number | null;
  @ApiProperty({ type: Number, nullable: true }) firstAttemptToAnswerSeconds: number | null;
  @ApiProperty({ type: Number, nullable: true }) reachDeadlineSeconds: number | null;
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description:
      'reached (receipt, heard or answered) within reachDeadlineSeconds of enteredAt; null: not ' +
      'reached yet, or no deadline applies',
  })
  reachedInTime: boolean | null;
  @ApiProperty({ type: Boolean, nullable: true, description: 'null: no deadline applies' })
  deadlineBreached: boolean | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'when the first notice to this person (an escalation edge into them) was made',
  })
  firstNoticeAt: Date | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'their first acknowledgement of a notice (keypress or SMS reply to it)',
  })
  noticeAcknowledgedAt: Date | null;
  @ApiProperty({ type: String, nullable: true, enum: ['voice', 'sms'], example: 'voice' })
  noticeAckChannel: string | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 12.5,
    description: 'notice response time: firstNoticeAt → noticeAcknowledgedAt',
  })
  noticeAckSeconds: number | null;
}

export class TimelinePersonView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() externalId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
  @ApiProperty() divisionCode: string;
  @ApiProperty({ type: String, nullable: true }) gridCode: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'masked for auditors and grid members',
  })
  contact: string | null;
}

export class TimelineTimesView {
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) firstAttemptAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deliveredAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) heardAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) confirmedAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) notWokenAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  helpRequestedAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time' }) enteredAt: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) firstNoticeAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  noticeAcknowledgedAt: Date | null;
}

export class TimelineSecondsView {
  @ApiProperty({ type: Number, nullable: true }) entryToAnswer: number | null;
  @ApiProperty({ type: Number, nullable: true }) issueToFirstAttempt: number | null;
  @ApiProperty({ type: Number, nullable: true }) issueToDelivery: number | null;
  @ApiProperty({ type: Number, nullable: true }) issueToAnswer: number | null;
  @ApiProperty({ type: Number, nullable: true }) firstAttemptToAnswer: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'first notice to the person → their first acknowledgement of a notice',
  })
  noticeAck: number | null;
}

export class TimelineDeadlineView {
  @ApiProperty({ type: Number, nullable: true }) reachDeadlineSeconds: number | null;
  @ApiProperty({ type: Boolean, nullable: true }) breached: boolean | null;
  @ApiProperty({ type: Boolean, nullable: true, description: 'as reachedInTime in …/chains' })
  reachedInTime: boolean | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) stepDeadlineAt: Date | null;
  @ApiProperty({ type: Boolean, nullable: true, description: 'as answeredInStepTime in …/chains' })
  answeredInStepTime: boolean | null;
}

export class EscalatedFromView {
  @ApiProperty({ format: 'uuid' }) personId: string;
  @ApiProperty({ type: String, nullable: true }) name: string | null;
  @ApiProperty({ type: String, nullable: true, enum: REASONS }) reason: string | null;
}

export class AttemptView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ description: 'warning version the attempt carried' }) version: number;
  @ApiProperty({ enum: ['alert', 'update', 'cancel'] }) msgType: string;
  @ApiProperty() seq: number;
  @ApiProperty({ example: 'warning', description: 'warning, notice (escalation), task, …' })
  purpose: string;
  @ApiProperty({ enum: CHANNEL_KINDS }) channel: string;
  @ApiProperty({ example: 'mobile' }) contactKind: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'masked for auditors and grid members',
  })
  address: string | null;
  @ApiProperty() priority: number;
  @ApiProperty({ example: 'completed' }) status: string;
  @ApiProperty({ type: String, nullable: true }) outcome: string | null;
  @ApiProperty({ type: String, nullable: true }) provider: string | null;
  @ApiProperty({ type: String, nullable: true, description: "the provider's message or call id" })
  providerId: string | null;
  @ApiProperty({ type: String, nullable: true, example: '30003' }) errorCode: string | null;
  @ApiProperty({ type: String, nullable: true }) errorMessage: string | null;
  @ApiProperty() tries: number;
  @ApiProperty({ type: Number, nullable: true }) segments: number | null;
  @ApiProperty({ type: Number, nullable: true }) durationSeconds: number | null;
  @ApiProperty() heard: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'keys pressed' }) digits: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) taskId: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) queuedAt: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) sentAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deliveredAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) answeredAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) failedAt: Date | null;
}

export class AnswerView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) attemptId: string | null;
  @ApiProperty({
    enum: ['alert', 'notice'],
    description: "alert: the person's own warning; notice: a notice about someone else",
  })
  about: string;
  @ApiProperty({ enum: ANSWER_CHANNELS }) channel: string;
  @ApiProperty({ enum: ['confirm', 'help'], description: 'confirm 确认收到, help 请求支援' })
  kind: string;
  @ApiProperty({ type: String, nullable: true, description: 'keys pressed or the SMS text' })
  rawInput: string | null;
  @ApiProperty({ type: String, nullable: true }) recordedBy: string | null;
  @ApiProperty({ type: String, nullable: true }) reason: string | null;
  @ApiProperty({ description: 'the first answer is effective; later ones are recorded too' })
  effective: boolean;
  @ApiProperty({ type: String, format: 'date-time' }) receivedAt: Date;
}

export class EscalationEdgeView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['in', 'out'] }) direction: string;
  @ApiProperty({ enum: REASONS }) reason: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true })
  detail: Record<string, unknown> | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) taskId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) fromPersonId: string | null;
  @ApiProperty({ type: String, nullable: true }) fromName: string | null;
  @ApiProperty({ type: String, nullable: true }) fromRole: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) toPersonId: string | null;
  @ApiProperty({ type: String, nullable: true }) toName: string | null;
  @ApiProperty({ type: String, nullable: true }) toRole: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'when the target acknowledged the notice reporting this edge',
  })
  acknowledgedAt: Date | null;
  @ApiProperty({ type: String, nullable: true, enum: ['voice', 'sms'] }) ackChannel: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'the notice answered' })
  ackAttemptId: string | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 12.5,
    description: 'createdAt → acknowledgedAt',
  })
  ackSeconds: number | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) resolvedAt: Date | null;
  @ApiProperty({
    type: String,
    nullable: true,
    enum: ['acknowledged', 'subject_answered', 'task_done'],
    description: 'null: still open',
  })
  resolution: string | null;
}

export class EscalationEdgesView {
  @ApiProperty({ type: [EscalationEdgeView], description: 'who escalated to this person' })
  in: EscalationEdgeView[];
  @ApiProperty({ type: [EscalationEdgeView], description: 'whom this person was escalated to' })
  out: EscalationEdgeView[];
}

export class TimelineTaskView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['door_to_door', 'gong_and_whistle'] }) type: string;
  @ApiProperty({ type: String, nullable: true }) gridCode: string | null;
  @ApiProperty({ enum: ['open', 'done', 'cancelled'] }) status: string;
  @ApiProperty({ type: String, nullable: true }) reason: string | null;
  @ApiProperty({ type: String, nullable: true }) outcome: string | null;
  @ApiProperty({ type: String, nullable: true }) note: string | null;
  @ApiProperty({ type: String, nullable: true }) createdBy: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: Date | null;
  @ApiProperty({ type: String, nullable: true }) completedBy: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) assigneeId: string | null;
  @ApiProperty({ type: String, nullable: true }) assigneeName: string | null;
  @ApiProperty({ enum: ['subject', 'assignee'] }) relation: string;
}

export class TimelineEventView {
  @ApiProperty({ type: String, format: 'date-time' }) at: Date;
  @ApiProperty({
    enum: [
      'attempt_queued',
      'attempt_sent',
      'attempt_delivered',
      'attempt_answered',
      'attempt_completed',
      'attempt_failed',
      'answer',
      'escalated_in',
      'escalated_out',
      'task_created',
      'task_completed',
      'not_woken',
      'notice_acknowledged',
    ],
  })
  type: string;
  @ApiPropertyOptional({ format: 'uuid' }) attemptId?: string;
  @ApiPropertyOptional({ enum: ANSWER_CHANNELS }) channel?: string;
  @ApiPropertyOptional({ type: String, nullable: true }) address?: string | null;
  @ApiPropertyOptional() seq?: number;
  @ApiPropertyOptional({ type: String, nullable: true }) outcome?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true }) errorCode?: string | null;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description:
      'why the attempt failed; a carrier limit met at planning (outcome number_limit) says, in ' +
      'Chinese and English, what was planned instead',
  })
  errorMessage?: string | null;
  @ApiPropertyOptional() heard?: boolean;
  @ApiPropertyOptional({ enum: ['alert', 'notice'], description: 'what an answer answered' })
  about?: string;
  @ApiPropertyOptional({ enum: ['confirm', 'help'] }) kind?: string;
  @ApiPropertyOptional({ type: String, nullable: true }) rawInput?: string | null;
  @ApiPropertyOptional() effective?: boolean;
  @ApiPropertyOptional({ enum: REASONS }) reason?: string;
  @ApiPropertyOptional({ type: String, nullable: true }) from?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true }) to?: string | null;
  @ApiPropertyOptional({ format: 'uuid' }) taskId?: string;
  @ApiPropertyOptional({ enum: ['door_to_door', 'gong_and_whistle'] }) taskType?: string;
}

export class ChainTimelineView {
  @ApiProperty({ format: 'uuid' }) warningId: string;
  @ApiProperty({ type: TimelinePersonView }) person: TimelinePersonView;
  @ApiProperty({ enum: CHAIN_STATES }) state: string;
  @ApiProperty({ type: String, nullable: true, enum: ANSWER_CHANNELS })
  answerChannel: string | null;
  @ApiProperty({ type: TimelineTimesView }) times: TimelineTimesView;
  @ApiProperty({ type: TimelineSecondsView }) responseSeconds: TimelineSecondsView;
  @ApiProperty({ type: String, nullable: true, enum: ['voice', 'sms'] })
  noticeAckChannel: string | null;
  @ApiProperty({ type: TimelineDeadlineView }) deadline: TimelineDeadlineView;
  @ApiProperty() notWoken: boolean;
  @ApiProperty({ type: EscalatedFromView, nullable: true })
  escalatedFrom: EscalatedFromView | null;
  @ApiProperty({ type: [AttemptView] }) attempts: AttemptView[];
  @ApiProperty({ type: [AnswerView] }) answers: AnswerView[];
  @ApiProperty({ type: EscalationEdgesView }) escalations: EscalationEdgesView;
  @ApiProperty({ type: [TimelineTaskView] }) tasks: TimelineTaskView[];
  @ApiProperty({ type: [TimelineEventView], description: 'everything above, in time order' })
  events: TimelineEventView[];
}

export class ReportScopeView {
  @ApiPropertyOptional({ format: 'uuid', description: 'a warning report' }) warningId?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'a period report' }) from?: string;
  @ApiPropertyOptional({ format: 'date-time' }) to?: string;
  @ApiPropertyOptional({ enum: WARNING_STATUSES }) status?: string;
  @ApiPropertyOptional({ type: String, nullable: true }) jurisdiction?: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'grid members: their grid' })
  gridCode: string | null;
}

export class ResponseSecondsView {
  @ApiProperty({ type: Number, nullable: true, description: 'entry into the chain → confirmation' })
  median: number | null;
  @ApiProperty({ type: Number, nullable: true }) p90: number | null;
  @ApiProperty({ type: Number, nullable: true }) medianFromFirstAttempt: number | null;
  @ApiProperty({ type: Number, nullable: true }) p90FromFirstAttempt: number | null;
}

export class ReportTotalsView {
  @ApiProperty({ example: 1 }) warnings: number;
  @ApiProperty({ example: 5, description: 'people in the chains, escalation targets included' })
  people: number;
  @ApiProperty({ example: 4, description: 'recipients of the warning itself (应叫)' })
  targeted: number;
  @ApiProperty({ example: 1 }) escalatedTo: number;
  @ApiProperty({ example: 4 }) reached: number;
  @ApiProperty({ example: 3 }) confirmed: number;
  @ApiProperty() helpRequests: number;
  @ApiProperty() notWoken: number;
  @ApiProperty({ type: Number, nullable: true, example: 1, description: 'reached / targeted' })
  coverage: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 0.75 }) confirmationRate: number | null;
  @ApiProperty({ type: ResponseSecondsView }) responseSeconds: ResponseSecondsView;
  @ApiProperty({ description: 'people not reached within the reach deadline of their entry' })
  deadlineBreaches: number;
  @ApiProperty({
    description:
      'people who answered (confirmed or asked for help) after the deadline of the step they ' +
      'answered in',
  })
  stepDeadlineMissed: number;
  @ApiProperty() neverReached: number;
}

export class ReportGroupView {
  @ApiProperty({ enum: GROUP_BYS }) groupBy: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'division or grid code, or role; null: above the grouping level',
    example: '513221001001',
  })
  key: string | null;
  @ApiProperty({ type: String, nullable: true, example: '渔子溪村' }) name: string | null;
  @ApiProperty() people: number;
  @ApiProperty() targeted: number;
  @ApiProperty() reached: number;
  @ApiProperty() confirmed: number;
  @ApiProperty({ type: Number, nullable: true }) coverage: number | null;
  @ApiProperty({ type: Number, nullable: true }) confirmationRate: number | null;
  @ApiProperty({ type: Number, nullable: true }) medianSeconds: number | null;
  @ApiProperty({ type: Number, nullable: true }) p90Seconds: number | null;
  @ApiProperty() deadlineBreaches: number;
  @ApiProperty() neverReached: number;
}

export class ReportPersonView {
  @ApiProperty({ format: 'uuid' }) warningId: string;
  @ApiProperty({ format: 'uuid' }) personId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
  @ApiProperty() divisionCode: string;
  @ApiProperty({ type: String, nullable: true }) gridCode: string | null;
  @ApiProperty({ enum: CHAIN_STATES }) state: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) firstAttemptAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) reachedAt: Date | null;
  @ApiProperty({ type: Number, nullable: true }) reachDeadlineSeconds: number | null;
  @ApiProperty() attempts: number;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'masked for auditors and grid members',
  })
  contact: string | null;
}

export class FailedContactView {
  @ApiProperty({ description: 'masked for auditors and grid members', example: '+86138****0004' })
  contact: string;
  @ApiProperty({ example: 'mobile' }) kind: string;
  @ApiProperty() failures: number;
  @ApiProperty() warnings: number;
  @ApiProperty({ type: [String], example: ['30003'] }) errorCodes: string[];
  @ApiProperty({ type: [String], example: ['undelivered'] }) outcomes: string[];
  @ApiProperty({ type: [String] }) people: string[];
  @ApiProperty({ type: String, format: 'date-time' }) lastFailedAt: Date;
}

export class ReportView {
  @ApiProperty({ type: ReportScopeView }) scope: ReportScopeView;
  @ApiProperty({ type: ReportTotalsView }) totals: ReportTotalsView;
  @ApiProperty({ enum: GROUP_BYS }) groupBy: string;
  @ApiProperty({ type: [ReportGroupView] }) groups: ReportGroupView[];
  @ApiProperty({ type: [ReportPersonView], description: 'at most 1000; the CSV has them all' })
  deadlineBreaches: ReportPersonView[];
  @ApiProperty({ type: [ReportPersonView], description: 'at most 1000' })
  neverReached: ReportPersonView[];
  @ApiProperty({
    type: [FailedContactView],
    description: 'dead numbers, worst first; at most 1000',
  })
  failedContacts: FailedContactView[];
}
