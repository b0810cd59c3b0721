import { ApiProperty } from '@nestjs/swagger';
import { TOKEN_ROLES } from '../../common/auth/token-role';
import { WARNING_KINDS, WARNING_LEVELS, WARNING_STATUSES } from '../../common/domain/warning.types';

/** Response shapes of the console's API routes (OpenAPI only; the handlers build them). */

export class ConsoleGridView {
  @ApiProperty({ example: '513221001001001' }) code: string;
  @ApiProperty({ type: String, nullable: true }) name: string | null;
  @ApiProperty({ required: false, example: '513221001001' }) villageCode?: string;
  @ApiProperty({ type: String, nullable: true, required: false }) village?: string | null;
}

export class ConsoleMeView {
  @ApiProperty() name: string;
  @ApiProperty({ enum: TOKEN_ROLES }) role: string;
  @ApiProperty({ type: String, nullable: true }) jurisdiction: string | null;
  @ApiProperty({ type: ConsoleGridView, nullable: true }) grid: ConsoleGridView | null;
  @ApiProperty({
    type: [String],
    description: 'the console actions this role may use',
    example: ['watch', 'audit', 'chains'],
  })
  can: string[];
}

export class GridWarningView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: WARNING_KINDS }) kind: string;
  @ApiProperty({ enum: WARNING_STATUSES }) status: string;
  @ApiProperty({ enum: ['active'] }) state: string;
  @ApiProperty({ enum: WARNING_LEVELS }) level: string;
  @ApiProperty() nationalId: string;
  @ApiProperty() headline: string;
  @ApiProperty() instruction: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
  @ApiProperty({ description: "people of the member's grid in the chain" }) total: number;
  @ApiProperty() confirmed: number;
  @ApiProperty() unconfirmed: number;
}

export class VillageGridView {
  @ApiProperty() code: string;
  @ApiProperty() name: string;
  @ApiProperty() people: number;
}

export class VillageGridsView {
  @ApiProperty({ example: '513221001001' }) code: string;
  @ApiProperty({ example: '渔子溪村' }) name: string;
  @ApiProperty({ type: [VillageGridView] }) grids: VillageGridView[];
}

export class BroadcastReceiptView {
  @ApiProperty() version: number;
  @ApiProperty({ enum: ['alert', 'update', 'cancel'] }) msgType: string;
  @ApiProperty({ description: 'the group send to the platform' }) sendStatus: string;
  @ApiProperty() terminalCode: string;
  @ApiProperty({ type: String, nullable: true }) terminalName: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'played, or why not; null: none yet' })
  status: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) playedAt: Date | null;
  @ApiProperty({ type: Number, nullable: true }) repeat: number | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) receivedAt: Date | null;
}

export class VillageBroadcastsView {
  @ApiProperty() villageCode: string;
  @ApiProperty({ type: String, nullable: true }) village: string | null;
  @ApiProperty() played: number;
  @ApiProperty() failed: number;
  @ApiProperty() waiting: number;
  @ApiProperty({ type: [BroadcastReceiptView] }) receipts: BroadcastReceiptView[];
}

export class WarningBroadcastsView {
  @ApiProperty({ type: [VillageBroadcastsView] }) villages: VillageBroadcastsView[];
}

export class LabelSetView {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { confirmed: '已确认' },
  })
  zh: Record<string, string>;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { confirmed: 'Confirmed' },
  })
  en: Record<string, string>;
}

export class ConsoleLabelsView {
  @ApiProperty({ type: LabelSetView, description: "a person's 叫应 chain states" })
  deliveryStates: LabelSetView;
  @ApiProperty({ type: LabelSetView }) roles: LabelSetView;
  @ApiProperty({ type: LabelSetView, description: 'delivery and answer channels' })
  channels: LabelSetView;
  @ApiProperty({ type: LabelSetView, description: 'active, cancelled, expired' })
  warningStates: LabelSetView;
  @ApiProperty({ type: LabelSetView, description: 'actual, exercise, test' })
  warningStatuses: LabelSetView;
  @ApiProperty({ type: LabelSetView }) kinds: LabelSetView;
  @ApiProperty({ type: LabelSetView }) levels: LabelSetView;
  @ApiProperty({ type: LabelSetView }) hazards: LabelSetView;
  @ApiProperty({ type: LabelSetView }) taskTypes: LabelSetView;
  @ApiProperty({ type: LabelSetView }) taskOutcomes: LabelSetView;
  @ApiProperty({ type: LabelSetView }) taskStatuses: LabelSetView;
  @ApiProperty({ type: LabelSetView }) escalationReasons: LabelSetView;
  @ApiProperty({ type: LabelSetView, description: "a policy's group rule: one, all, at_least" })
  groupConfirmRules: LabelSetView;
  @ApiProperty({ type: LabelSetView }) groupBy: LabelSetView;
  @ApiProperty({ type: LabelSetView, description: '险情分级: 特大型, 大型, 中型, 小型' })
  hazardGrades: LabelSetView;
  @ApiProperty({ type: LabelSetView, description: "a hazard report's one-hour city deadline" })
  deadlineStatuses: LabelSetView;
  @ApiProperty({ type: LabelSetView, description: 'county, city: who a hazard report reaches' })
  reportLevels: LabelSetView;
  @ApiProperty({ type: LabelSetView, description: 'what a contact point showed in a roster check' })
  contactStatuses: LabelSetView;
  @ApiProperty({ type: LabelSetView, description: 'kinds of contact point' })
  contactKinds: LabelSetView;
}
