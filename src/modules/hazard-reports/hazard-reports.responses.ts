import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IssueResultView, WarningDraftView } from '../warnings/warnings.responses';
import { DIRECT_NOTICE_MEANS } from './dto/hazard-report.dto';
import { HAZARD_GRADES } from '../../common/domain/hazard-grade';

export class HazardReportPlaceView {
  @ApiProperty({ type: String, nullable: true, example: 'HP-1' }) hazardPoint: string | null;
  @ApiProperty({ type: String, nullable: true, example: '渔子溪滑坡隐患点' })
  hazardPointName: string | null;
  @ApiProperty({ example: '513221001001' }) divisionCode: string;
  @ApiProperty({ type: String, nullable: true }) location: string | null;
  @ApiProperty({
    example: '汶川县映秀镇渔子溪村渔子溪滑坡隐患点',
    description: 'the place in words',
  })
  name: string;
}

export class HazardReporterView {
  @ApiProperty() name: string;
  @ApiPropertyOptional() phone?: string;
  @ApiPropertyOptional() role?: string;
}

export class CityDeadlineView {
  @ApiProperty({
    description: 'true for 特大型 and 大型: the city must acknowledge within one hour',
  })
  required: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deadlineAt: Date | null;
  @ApiProperty({
    enum: ['not_required', 'pending', 'at_risk', 'met', 'missed'],
    description: 'at_risk: the 45-minute mark passed without the city acknowledging',
  })
  status: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) acknowledgedAt: Date | null;
}

export class HazardReportNoticeView {
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) personId: string | null;
  @ApiProperty({ type: String, nullable: true }) name: string | null;
  @ApiProperty({
    enum: ['county', 'city', 'county_responsible', 'threatened'],
    description: 'threatened: a person threatened by the hazard point (a direct notice SMS)',
  })
  level: string;
  @ApiProperty({ enum: ['report', 'escalation', 'direct_notice'] }) purpose: string;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'the direct notice (directNotices[].id) this SMS was sent for',
  })
  directNoticeId: string | null;
  @ApiProperty({ description: "the step of the report's 叫应 chain it belongs to (0: the first)" })
  step: number;
  @ApiProperty({
    type: String,
    nullable: true,
    enum: ['mobile', 'landline', 'satellite', 'email'],
    description: 'the kind of contact point it went to (the number itself is not shown)',
  })
  contactKind: string | null;
  @ApiProperty({
    description:
      'true: sent because an earlier SMS or call to another contact point failed or was not answered',
  })
  failover: boolean;
  @ApiProperty({ example: 'sms' }) channel: string;
  @ApiProperty({ enum: ['queued', 'sending', 'sent', 'failed', 'cancelled'] }) status: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) sentAt: Date | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      "the provider's final status (status callback): delivered / undelivered / failed for an SMS; completed / no-answer / busy / failed / canceled for a call",
  })
  outcome: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) outcomeAt: Date | null;
}

export class HazardReportChainView {
  @ApiProperty({ enum: ['county', 'city'] }) level: string;
  @ApiProperty({
    enum: ['running', 'acknowledged', 'exhausted'],
    description:
      'running: texted and called at each step until the level acknowledges; exhausted: every step ran out unacknowledged',
  })
  state: string;
  @ApiProperty({ description: 'the current (or last) step, from 0' }) step: number;
  @ApiProperty({ type: String, format: 'date-time' }) stepStartedAt: Date;
  @ApiProperty({ type: String, format: 'date-time', description: 'when the next step starts' })
  stepDueAt: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) endedAt: Date | null;
}

export class HazardReportAckView {
  @ApiProperty({ enum: ['county', 'city'] }) level: string;
  @ApiProperty({ description: 'who acknowledged (the token name, or the person a notice went to)' })
  by: string;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'the person, when acknowledged from a notice (keypress, SMS reply, link)',
  })
  personId: string | null;
  @ApiProperty({ enum: ['api', 'voice', 'sms', 'link'] }) channel: string;
  @ApiProperty({ type: String, format: 'date-time' }) at: Date;
}

export class DirectNoticeSmsView {
  @ApiProperty({ description: 'threatened people with a number that takes SMS' })
  recipients: number;
  @ApiProperty({ description: 'SMS queued (their sends are in `notified`, purpose direct_notice)' })
  queued: number;
}

export class DirectNoticeView {
  @ApiPropertyOptional({ format: 'uuid' }) id?: string;
  @ApiProperty({ description: 'who notified the people' }) by: string;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty() people: number;
  @ApiProperty({ enum: DIRECT_NOTICE_MEANS, isArray: true }) means: string[];
  @ApiPropertyOptional() note?: string;
  @ApiProperty({ description: 'the token that recorded it' }) recordedBy: string;
  @ApiProperty({ format: 'date-time' }) recordedAt: string;
  @ApiPropertyOptional({ description: 'the hazard point whose threatened people were texted' })
  hazardPoint?: string;
  @ApiPropertyOptional({
    type: DirectNoticeSmsView,
    description: 'set when the gateway sent the SMS (sendSms)',
  })
  sms?: DirectNoticeSmsView;
}

export class HazardReportView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: HAZARD_GRADES }) grade: string;
  @ApiProperty({ enum: ['open', 'closed'] }) state: string;
  @ApiProperty({ type: HazardReportPlaceView }) place: HazardReportPlaceView;
  @ApiProperty() observed: string;
  @ApiProperty() peopleThreatened: number;
  @ApiProperty({ type: Number, nullable: true, description: '万元' }) possibleLoss: number | null;
  @ApiProperty({ type: [String] }) photos: string[];
  @ApiProperty({ type: HazardReporterView }) reporter: HazardReporterView;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
  @ApiProperty({ type: CityDeadlineView }) cityDeadline: CityDeadlineView;
  @ApiProperty({ description: 'escalated at the 45-minute mark without the city acknowledging' })
  flagged: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) flaggedAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) escalatedAt: Date | null;
  @ApiProperty({ type: [HazardReportNoticeView], description: 'who was notified (empty in lists)' })
  notified: HazardReportNoticeView[];
  @ApiProperty({ type: [HazardReportAckView] }) acknowledgements: HazardReportAckView[];
  @ApiProperty({
    type: [HazardReportChainView],
    description:
      'the 叫应 chain of each duty office that must acknowledge (特大型 / 大型: county and city)',
  })
  chains: HazardReportChainView[];
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'the imminent warning issued from the report (also once its draft is approved)',
  })
  warningId: string | null;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'the warning draft awaiting a second duty officer (two-person release)',
  })
  warningDraftId: string | null;
  @ApiProperty({ type: [DirectNoticeView] }) directNotices: DirectNoticeView[];
}

export class HazardReportAckResultView {
  @ApiProperty({ enum: ['county', 'city'] }) level: string;
  @ApiProperty({ description: 'false: this level had acknowledged already (the first stands)' })
  recorded: boolean;
  @ApiProperty() by: string;
  @ApiProperty({ type: String, format: 'date-time' }) at: Date;
}

export class HazardReportWarningView {
  @ApiProperty({ format: 'uuid' }) reportId: string;
  @ApiProperty({ type: IssueResultView }) warning: IssueResultView;
}

export class HazardReportWarningDraftView {
  @ApiProperty({ format: 'uuid' }) reportId: string;
  @ApiProperty({
    type: WarningDraftView,
    description: 'approve with POST /v1/warnings/:id/approve',
  })
  draft: WarningDraftView;
}
