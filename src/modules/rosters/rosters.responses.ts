import { ApiProperty } from '@nestjs/swagger';
import { CONTACT_KINDS, DIVISION_LEVELS, PERSON_ROLES } from '../../common/domain/directory.types';

/** Response shapes of the roster routes (OpenAPI only; the handlers build them). */

const UUID_EXAMPLE = '3f0b6f0e-8a2c-4c8e-9f51-2f7f3d9b1a10';
const TIME = '2026-07-01T08:30:05.000Z';
const CONTACT_STATUSES = ['answered', 'delivered', 'dead_number', 'no_answer', 'not_tried'];
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

export class RosterCheckCreatedView {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id: string;
  @ApiProperty({ format: 'uuid', description: 'the test warning (status test, 测试)' })
  warningId: string;
  @ApiProperty({ example: '51322100000000_20261206100000_0' }) nationalId: string;
  @ApiProperty({ example: '513221' }) divisionCode: string;
  @ApiProperty({ example: '汶川县' }) divisionName: string;
  @ApiProperty({ description: 'responsible persons tested (never residents)', example: 120 })
  recipients: number;
  @ApiProperty({ format: 'date-time', example: TIME }) createdAt: string;
}

export class RosterCheckContactView {
  @ApiProperty({ format: 'uuid' }) contactPointId: string;
  @ApiProperty({ enum: CONTACT_KINDS }) kind: string;
  @ApiProperty({ description: 'masked for auditors', example: '+8613800000001' }) value: string;
  @ApiProperty({ example: 1 }) priority: number;
  @ApiProperty({
    enum: CONTACT_STATUSES,
    description:
      'answered 已应答 (keypress / reply), delivered 已送达, dead_number 空号/停机 (undelivered or ' +
      'failed with a dead-number code), no_answer 未应答, not_tried 未尝试',
  })
  status: string;
  @ApiProperty({ description: 'answered or delivered' }) works: boolean;
  @ApiProperty({ example: 1 }) attempts: number;
  @ApiProperty({ type: String, nullable: true, example: '30005' }) errorCode: string | null;
  @ApiProperty({
    type: String,
    format: 'date',
    nullable: true,
    description: 'last confirmed working (Beijing date)',
  })
  verifiedAt: string | null;
}

export class RosterCheckPersonView {
  @ApiProperty({ format: 'uuid' }) personId: string;
  @ApiProperty({ example: 'P-0001' }) externalId: string;
  @ApiProperty({ example: '王村长' }) name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
  @ApiProperty({ example: '513221001001' }) divisionCode: string;
  @ApiProperty({ type: String, nullable: true }) gridCode: string | null;
  @ApiProperty({ enum: CHAIN_STATES }) deliveryState: string;
  @ApiProperty({
    enum: [...CONTACT_STATUSES, 'no_contact'],
    description: 'the best of their contact points (dead_number only when all are dead)',
  })
  status: string;
  @ApiProperty({ description: 'confirmed or asked for help' }) answered: boolean;
  @ApiProperty({ type: [RosterCheckContactView] }) contacts: RosterCheckContactView[];
}

export class RosterNumberToFixView {
  @ApiProperty({ format: 'uuid' }) personId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
  @ApiProperty({ format: 'uuid' }) contactPointId: string;
  @ApiProperty({ enum: CONTACT_KINDS }) kind: string;
  @ApiProperty({ description: 'masked for auditors' }) value: string;
  @ApiProperty({ type: String, nullable: true, example: '30005' }) errorCode: string | null;
}

export class RosterPersonRefView {
  @ApiProperty({ format: 'uuid' }) personId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
}

export class RosterContactCountsView {
  @ApiProperty() answered: number;
  @ApiProperty() delivered: number;
  @ApiProperty() dead_number: number;
  @ApiProperty() no_answer: number;
  @ApiProperty() not_tried: number;
}

export class RosterCheckView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) warningId: string;
  @ApiProperty({ example: '513221' }) divisionCode: string;
  @ApiProperty({ example: '汶川县' }) divisionName: string;
  @ApiProperty({ format: 'date-time', example: TIME }) createdAt: string;
  @ApiProperty({ description: 'responsible persons tested' }) people: number;
  @ApiProperty({ description: 'people who confirmed or asked for help' }) answeredPeople: number;
  @ApiProperty({ type: RosterContactCountsView, description: 'contact points by status' })
  contactPoints: RosterContactCountsView;
  @ApiProperty({ type: [RosterCheckPersonView] }) results: RosterCheckPersonView[];
  @ApiProperty({ type: [RosterNumberToFixView], description: 'dead numbers to correct' })
  numbersToFix: RosterNumberToFixView[];
  @ApiProperty({ type: [RosterPersonRefView] }) peopleWithoutContact: RosterPersonRefView[];
}

export class RosterContactView {
  @ApiProperty({ format: 'uuid' }) contactPointId: string;
  @ApiProperty({ enum: CONTACT_KINDS }) kind: string;
  @ApiProperty({ description: 'masked for auditors' }) value: string;
  @ApiProperty() priority: number;
  @ApiProperty({
    type: String,
    format: 'date',
    nullable: true,
    description: 'when it last worked in a roster check (Beijing date); null: never confirmed',
  })
  lastConfirmedAt: string | null;
}

export class RosterSupervisorView {
  @ApiProperty({ format: 'uuid' }) personId: string;
  @ApiProperty() name: string;
}

export class RosterPersonView {
  @ApiProperty({ format: 'uuid' }) personId: string;
  @ApiProperty() externalId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
  @ApiProperty() divisionCode: string;
  @ApiProperty({ type: String, nullable: true }) gridCode: string | null;
  @ApiProperty({ type: RosterSupervisorView, nullable: true })
  supervisor: RosterSupervisorView | null;
  @ApiProperty({ type: [RosterContactView] }) contacts: RosterContactView[];
}

export class RosterPersonPlaceView extends RosterPersonRefView {
  @ApiProperty() divisionCode: string;
}

export class RosterGridView {
  @ApiProperty({ example: '513221001001002' }) code: string;
  @ApiProperty() name: string;
  @ApiProperty() villageCode: string;
}

export class RosterHazardPointView {
  @ApiProperty({ example: 'HP-1' }) code: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: 'landslide' }) hazard: string;
  @ApiProperty() divisionCode: string;
}

export class RosterFilingView {
  @ApiProperty({
    format: 'date',
    example: '2026-04-20',
    description:
      "this county's filing date this year: its own (ROSTER_FILE_BY_COUNTY) or ROSTER_FILE_BY",
  })
  fileBy: string;
  @ApiProperty({
    description:
      "a people import with rows of this county was recorded this year by that date (the county's own filing)",
  })
  filed: boolean;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'the last such people import of this county (this year, up to the filing date)',
  })
  lastPeopleImportAt: string | null;
  @ApiProperty({ description: 'the date has passed and nothing was filed' }) overdue: boolean;
}

export class RosterDivisionView {
  @ApiProperty({ example: '513221' }) code: string;
  @ApiProperty({ example: '汶川县' }) name: string;
  @ApiProperty({ enum: DIVISION_LEVELS }) level: string;
  @ApiProperty({ type: [RosterPersonView], description: 'responsible persons (no residents)' })
  people: RosterPersonView[];
  @ApiProperty({ type: [RosterPersonPlaceView] })
  peopleWithoutSupervisor: RosterPersonPlaceView[];
  @ApiProperty({ type: [RosterPersonRefView], description: 'no contact point ever confirmed' })
  peopleWithoutConfirmedContact: RosterPersonRefView[];
  @ApiProperty({
    type: [RosterGridView],
    description: 'no grid_leader, grid_member or group_monitor',
  })
  gridsWithoutResponsible: RosterGridView[];
  @ApiProperty({
    type: [RosterHazardPointView],
    description: 'no responsible person with the monitor role (group_monitor, 群测群防员)',
  })
  hazardPointsWithoutMonitor: RosterHazardPointView[];
  @ApiProperty({ type: RosterFilingView, description: "this county's filing status" })
  filing: RosterFilingView;
}

export class RosterView {
  @ApiProperty({ example: '513221' }) divisionCode: string;
  @ApiProperty({ example: '汶川县' }) divisionName: string;
  @ApiProperty({ enum: DIVISION_LEVELS }) level: string;
  @ApiProperty({
    format: 'date',
    example: '2026-04-20',
    description:
      'the default filing date this year (ROSTER_FILE_BY); each county has its own in filing',
  })
  fileBy: string;
  @ApiProperty({
    type: [RosterDivisionView],
    description: 'one per county (for a province or city), else the division itself',
  })
  divisions: RosterDivisionView[];
}
