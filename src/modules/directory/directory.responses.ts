import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CONTACT_KINDS, DIVISION_LEVELS, PERSON_ROLES } from '../../common/domain/directory.types';

/** Response shapes of the directory routes (OpenAPI only; the handlers build them). */

export class DivisionView {
  @ApiProperty({ example: '513221001' }) code: string;
  @ApiProperty({ example: '映秀镇' }) name: string;
  @ApiProperty({ enum: DIVISION_LEVELS }) level: string;
  @ApiProperty({ type: String, nullable: true, example: '513221' }) parentCode: string | null;
}

export class ContactPointView {
  @ApiProperty({ enum: CONTACT_KINDS }) kind: string;
  @ApiProperty({ example: '+8613800000004' }) value: string;
  @ApiProperty({ description: 'tried in this order (1 first)' }) priority: number;
  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  verifiedAt?: string | null;
}

export class GridPersonView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'P-0001' }) externalId: string;
  @ApiProperty({ example: '李网格长' }) name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
  @ApiProperty({ type: String, nullable: true }) title: string | null;
  @ApiProperty({ type: [ContactPointView] }) contacts: ContactPointView[];
}

export class GridView {
  @ApiProperty({ example: '513221001001001' }) code: string;
  @ApiProperty({ example: '渔子溪村第1网格' }) name: string;
  @ApiProperty({ example: '513221001001' }) villageCode: string;
  @ApiProperty({ type: [GridPersonView], description: 'at most 5000' }) people: GridPersonView[];
}

export class PersonView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'P-0001' }) externalId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PERSON_ROLES }) role: string;
  @ApiProperty({ type: String, nullable: true }) title: string | null;
  @ApiProperty({ example: '513221001001' }) divisionCode: string;
  @ApiProperty({ type: String, nullable: true }) gridCode: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'escalation target' })
  supervisorId: string | null;
  @ApiProperty({ type: [ContactPointView] }) contacts: ContactPointView[];
}

export class RobotView {
  @ApiProperty({ example: 'R-513221001' }) code: string;
  @ApiProperty({ enum: ['wecom', 'dingtalk', 'feishu'] }) platform: string;
  @ApiProperty({ example: '映秀镇防灾群' }) name: string;
  @ApiProperty({ type: String, nullable: true }) divisionCode: string | null;
  @ApiProperty({ type: String, nullable: true }) gridCode: string | null;
  @ApiProperty({ description: 'a signing secret is stored (never shown)' }) hasSecret: boolean;
}

export class TargetPreviewView {
  @ApiProperty({ example: 1101, description: 'distinct people reached' }) total: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'people by role (roles with nobody left out)',
    example: { grid_leader: 12, resident: 1080 },
  })
  byRole: Record<string, number>;
}

export class ImportResultView {
  @ApiProperty({ example: 'people' }) kind: string;
  @ApiProperty({ example: 120 }) rows: number;
  @ApiProperty() inserted: number;
  @ApiProperty() updated: number;
  @ApiProperty() unchanged: number;
}
