import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PERSON_ROLES } from '../../common/domain/directory.types';
import { WARNING_KINDS, WARNING_LEVELS, WARNING_STATUSES } from '../../common/domain/warning.types';
import { ConsolePreviewView } from './message-preview.responses';
import { GroupConfirmDto } from '../escalation/policies.dto';
import { PREVIEW_CHANNELS } from './channel-reach.service';

/** Response shapes of the warning routes (OpenAPI only; the handlers build them). */

const STATES = ['active', 'cancelled', 'expired'];
const MSG_TYPES = ['alert', 'update', 'cancel'];
const NATIONAL_ID = '51322100100000_20261122193845_0';
const CHAIN_STATES = [
  'pending',
  'sent',
  'delivered',
  'heard',
  'confirmed',
  'declined',
  'unreachable',
  'cancelled',
];

export class IssueResultView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ description: 'the 31-character national identifier', example: NATIONAL_ID })
  nationalId: string;
  @ApiProperty({ example: 1 }) version: number;
  @ApiProperty({ enum: MSG_TYPES }) msgType: string;
  @ApiProperty({ enum: STATES }) state: string;
  @ApiProperty({ description: 'people the version reaches', example: 1101 }) recipients: number;
}

export class WarningView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({
    enum: WARNING_KINDS,
    description: 'meteorological_risk 气象风险预警, imminent 临灾预警',
  })
  kind: string;
  @ApiProperty({ enum: WARNING_STATUSES, description: 'actual 正式, exercise 演练, test 测试' })
  status: string;
  @ApiProperty({ enum: STATES, description: 'cancelled: 解除' }) state: string;
  @ApiProperty() currentVersion: number;
  @ApiProperty({ example: '汶川县自然资源局' }) issuerName: string;
  @ApiProperty({ example: '513221' }) issuerDivision: string;
  @ApiProperty({ enum: ['api', 'cap'] }) source: string;
  @ApiProperty() recipients: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) fanoutDoneAt: Date | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'when the last recipient is expected to be first contacted',
  })
  firstContactEta: Date | null;
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt: Date;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) cancelledAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiredAt: Date | null;
}

export class WarningListItemView extends WarningView {
  @ApiProperty({ example: NATIONAL_ID }) nationalId: string;
  @ApiProperty({ enum: WARNING_LEVELS }) level: string;
  @ApiProperty({ example: '汶川县映秀镇发布地质灾害橙色预警' }) headline: string;
}

export class WarningVersionView {
  @ApiProperty() version: number;
  @ApiProperty({ example: NATIONAL_ID }) nationalId: string;
  @ApiProperty({ enum: MSG_TYPES }) msgType: string;
  @ApiProperty({ enum: WARNING_LEVELS }) level: string;
  @ApiProperty({ type: String, format: 'date-time' }) sentAt: Date;
}

export class DispatchView {
  @ApiProperty({ description: 'every recipient has deliveries and attempts' }) fanoutDone: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) firstContactEta: Date | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'people by chain state',
    example: { confirmed: 10, delivered: 392, pending: 608 },
  })
  deliveries: Record<string, number>;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } },
    description: 'attempts and group sends by channel, then status',
    example: { sms: { delivered: 380, failed: 12 }, voice: { completed: 40 } },
  })
  attempts: Record<string, Record<string, number>>;
}

export class ChainPersonRefView {
  @ApiProperty({ format: 'uuid' }) personId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
  @ApiPropertyOptional() divisionCode?: string;
  @ApiProperty({ type: String, nullable: true }) gridCode: string | null;
  @ApiProperty({ enum: CHAIN_STATES }) state: string;
  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'help requests: when' })
  at?: Date;
}

export class SecondsSummaryView {
  @ApiProperty({ type: Number, nullable: true }) median: number | null;
  @ApiProperty({ type: Number, nullable: true }) medianFromIssue: number | null;
  @ApiProperty({ type: Number, nullable: true }) p90: number | null;
  @ApiProperty({ type: Number, nullable: true }) medianFromFirstAttempt: number | null;
  @ApiProperty({ type: Number, nullable: true }) p90FromFirstAttempt: number | null;
}

export class DeadlineCountView {
  @ApiProperty() met: number;
  @ApiProperty() missed: number;
}

/** What a grid's group rule found at its due time. */
export class GroupRuleOutcomeView {
  @ApiProperty({ example: '513221001001001' }) gridCode: string;
  @ApiProperty({ type: String, nullable: true, example: '渔子溪村第1网格' }) gridName:
    string | null;
  @ApiProperty() version: number;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'the policy whose rule applied',
  })
  policyId: string | null;
  @ApiProperty({ type: GroupConfirmDto, description: 'the confirmation rule applied' })
  rule: GroupConfirmDto;
  @ApiProperty({ description: 'confirmations the rule required' }) required: number;
  @ApiProperty({ description: "the grid's responsible persons on the warning" }) total: number;
  @ApiProperty({ description: 'of them, confirmed at the due time' }) confirmed: number;
  @ApiProperty({ description: 'false: the village was alerted' }) met: boolean;
  @ApiProperty({ type: String, format: 'date-time' }) evaluatedAt: Date;
  @ApiProperty({ description: 'superiors alerted about the grid' }) alerted: number;
}

/** 叫应 summary of a warning. */
export class ChainSummaryView {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { confirmed: 3, declined: 1 },
  })
  byState: Record<string, number>;
  @ApiProperty() targeted: number;
  @ApiProperty() escalatedTo: number;
  @ApiProperty({ type: Number, nullable: true }) coverage: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'residents reached / residents' })
  publicCoverage: number | null;
  @ApiProperty({ example: 0.95 }) publicCoverageTarget: number;
  @ApiProperty({ type: Boolean, nullable: true }) publicCoverageMet: boolean | null;
  @ApiProperty({ type: Number, nullable: true }) confirmationRate: number | null;
  @ApiProperty({ type: Number, nullable: true }) responsibleConfirmationRate: number | null;
  @ApiProperty({ type: SecondsSummaryView }) responseSeconds: SecondsSummaryView;
  @ApiProperty({ type: DeadlineCountView, description: 'responsible persons reached in time' })
  reachDeadline: DeadlineCountView;
  @ApiProperty({ type: DeadlineCountView }) stepDeadline: DeadlineCountView;
  @ApiProperty({ type: [ChainPersonRefView] }) helpRequests: ChainPersonRefView[];
  @ApiProperty({ type: [ChainPersonRefView], description: '未叫醒' })
  notWoken: ChainPersonRefView[];
  @ApiProperty({
    type: [GroupRuleOutcomeView],
    description: "each grid's group rule: the confirmation rule applied and its outcome",
  })
  groupRules: GroupRuleOutcomeView[];
}

export class WarningDetailView extends WarningView {
  @ApiProperty({ example: NATIONAL_ID }) nationalId: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'the current version: level, hazard, headline, description, instruction, targets, audience, times, issuer',
  })
  content: Record<string, unknown>;
  @ApiProperty({ type: [WarningVersionView] }) versions: WarningVersionView[];
  @ApiProperty({ type: DispatchView }) dispatch: DispatchView;
  @ApiProperty({ type: ChainSummaryView }) responses: ChainSummaryView;
}

export class ChainPersonTimesView {
  @ApiProperty({ format: 'uuid' }) deliveryId: string;
  @ApiProperty({ format: 'uuid' }) personId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
  @ApiProperty() divisionCode: string;
  @ApiProperty({ type: String, nullable: true }) gridCode: string | null;
  @ApiProperty({ enum: CHAIN_STATES }) state: string;
  @ApiProperty({ description: 'brought in by an escalation' }) escalated: boolean;
  @ApiProperty({ type: String, nullable: true }) escalationReason: string | null;
  @ApiProperty({ type: String, nullable: true }) answerChannel: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  answeredAttemptId: string | null;
  @ApiProperty({ type: Number, nullable: true, description: '1-based' })
  answeredOnAttempt: number | null;
  @ApiProperty() notWoken: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) notWokenAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  helpRequestedAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time' }) enteredAt: Date;
  @ApiProperty({ type: Number, nullable: true }) entryToAnswer: number | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  stepDeadlineAt: Date | null;
  @ApiProperty({ type: Boolean, nullable: true }) answeredInStepTime: boolean | null;
  @ApiProperty({ type: Number, nullable: true }) issueToFirstAttempt: number | null;
  @ApiProperty({ type: Number, nullable: true }) issueToDelivery: number | null;
  @ApiProperty({ type: Number, nullable: true }) issueToAnswer: number | null;
  @ApiProperty({ type: Number, nullable: true }) firstAttemptToAnswer: number | null;
  @ApiProperty({ type: Number, nullable: true }) reachDeadlineSeconds: number | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  reachDeadlineAt: Date | null;
  @ApiProperty({ type: Boolean, nullable: true }) reachedInTime: boolean | null;
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
  @ApiProperty({ type: String, nullable: true, enum: ['voice', 'sms'] })
  noticeAckChannel: string | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'notice response time: firstNoticeAt → noticeAcknowledgedAt, in seconds',
  })
  noticeAckSeconds: number | null;
}

export class CallAgainView {
  @ApiProperty({ format: 'uuid', description: 'the new voice attempt, queued' })
  attemptId: string;
}

export class DraftChannelCountsView {
  @ApiProperty({ example: 1101 }) sms: number;
  @ApiProperty({ example: 1101 }) voice: number;
  @ApiProperty({ example: 3 }) email: number;
  @ApiProperty({ description: 'group robot chats', example: 4 }) robot: number;
  @ApiProperty({ description: 'loudspeaker terminals (大喇叭)', example: 2 }) broadcast: number;
}

export class DraftRecipientsView {
  @ApiProperty({ description: 'people the warning would reach', example: 1101 }) total: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'recipients per role',
    example: { grid_leader: 12, resident: 1080 },
  })
  byRole: Record<string, number>;
  @ApiProperty({
    type: DraftChannelCountsView,
    description:
      'recipients per channel of their first step (carrier limits per number aside): people on ' +
      'sms, voice and email, group robot chats on robot, loudspeaker terminals on broadcast',
  })
  byChannel: DraftChannelCountsView;
  @ApiProperty({
    description: 'recipients no channel of their first step can reach (no fitting contact point)',
    example: 0,
  })
  unreachable: number;
}

export class DraftChannelPreviewView {
  @ApiProperty({ enum: PREVIEW_CHANNELS }) channel: string;
  @ApiProperty({ description: 'recipients on this channel (see unit)', example: 1080 })
  recipients: number;
  @ApiProperty({
    enum: ['people', 'groups', 'terminals'],
    description: 'people (sms, voice, email), robot chats (robot) or loudspeaker terminals',
  })
  unit: string;
  @ApiProperty({
    description:
      "the channel's text: the short SMS, the call script, the e-mail's subject and text, the robot post, the loudspeaker text",
  })
  text: string;
}

export class DraftPreviewView {
  @ApiProperty({
    description:
      'hash of what the approver approves (body, audience, recipients per role and per channel); send it back',
    example: 'a3f1c0…',
  })
  previewHash: string;
  @ApiProperty({ enum: PERSON_ROLES, isArray: true }) audience: string[];
  @ApiProperty({ type: DraftRecipientsView }) recipients: DraftRecipientsView;
  @ApiProperty({ type: ConsolePreviewView, description: "each channel's text" })
  channels: ConsolePreviewView;
  @ApiProperty({
    type: [DraftChannelPreviewView],
    description:
      'per channel, in order sms, voice, email, robot, broadcast: its recipients and its text',
  })
  perChannel: DraftChannelPreviewView[];
}

export class DraftAuthorView {
  @ApiProperty({ format: 'uuid' }) tokenId: string;
  @ApiProperty() name: string;
}

export class DraftCapOriginView {
  @ApiProperty({ description: 'the CAP identifier (the national id the warning will carry)' })
  identifier: string;
  @ApiProperty({ format: 'date-time', description: 'the CAP sent time' }) sent: string;
  @ApiProperty({ description: 'the CAP sender (not a trusted upstream authority)' })
  sender: string;
}

export class WarningDraftView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['draft', 'approving', 'approved'] }) state: string;
  @ApiProperty({ type: DraftAuthorView }) draftedBy: DraftAuthorView;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'the warning as drafted',
  })
  warning: Record<string, unknown>;
  @ApiProperty({ type: DraftPreviewView }) preview: DraftPreviewView;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) approvedBy: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) approvedAt: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) warningId: string | null;
  @ApiProperty({
    type: DraftCapOriginView,
    nullable: true,
    description: 'drafted from an imported CAP alert (POST /v1/warnings/cap): its identity',
  })
  cap: DraftCapOriginView | null;
}

export class ApprovalResultView extends IssueResultView {
  @ApiProperty({ format: 'uuid' }) draftId: string;
}
