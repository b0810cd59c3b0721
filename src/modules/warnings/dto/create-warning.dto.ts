import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PERSON_ROLES, type PersonRole } from '../../../common/domain/directory.types';
import {
  HAZARD_TYPES,
  type HazardType,
  WARNING_KINDS,
  WARNING_LEVELS,
  WARNING_STATUSES,
  type WarningKind,
  type WarningLevel,
  type WarningStatus,
} from '../../../common/domain/warning.types';

/** A division code (2, 4, 6, 9 or 12 digits) or a grid code (a village's 12 digits and the grid's number). */
const DIVISION_OR_GRID_CODE = /^(\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?|\d{12}[0-9A-Za-z_-]{1,20})$/;

export class ImpactDto {
  @ApiProperty({ description: 'people threatened', maximum: 100_000_000 })
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  people: number;

  @ApiProperty({ description: 'households threatened', maximum: 100_000_000 })
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  households: number;
}

/** The targets and wording of a warning: shared by issue and update. */
export class WarningBodyDto {
  @ApiProperty({
    enum: WARNING_LEVELS,
    description: 'red 一级, orange 二级, yellow 三级, blue 四级',
  })
  @IsIn(WARNING_LEVELS)
  level: WarningLevel;

  @ApiProperty({ enum: HAZARD_TYPES })
  @IsIn(HAZARD_TYPES)
  hazard: HazardType;

  @ApiProperty({ example: '汶川县映秀镇发布地质灾害橙色预警' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  headline: string;

  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(4000)
  description: string;

  @ApiProperty({ description: 'measures to take; for imminent warnings, where to evacuate' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  instruction: string;

  @ApiPropertyOptional({
    type: [String],
    description:
      'division codes (any level: everyone at or below it) or grid codes (网格, the village code and the grid number: everyone of that grid)',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(2000)
  @Matches(DIVISION_OR_GRID_CODE, {
    each: true,
    message: 'each area must be a 2, 4, 6, 9 or 12-digit division code or a grid code',
  })
  areas?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(2000)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  hazardPoints?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(2000)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  riskZones?: string[];

  @ApiPropertyOptional({
    enum: PERSON_ROLES,
    isArray: true,
    description: 'default per kind and level',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsIn(PERSON_ROLES, { each: true })
  audience?: PersonRole[];

  @ApiProperty({ example: '2026-07-01T20:00:00+08:00' })
  @IsISO8601({ strict: true })
  effective: string;

  @ApiPropertyOptional({ description: 'expected time of the event (required for imminent)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  onset?: string;

  @ApiProperty({ example: '2026-07-02T20:00:00+08:00' })
  @IsISO8601({ strict: true })
  expires: string;

  @ApiPropertyOptional({ description: 'imminent: extent of the threatened area' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  extent?: string;

  @ApiPropertyOptional({
    type: ImpactDto,
    description: 'imminent: people and households threatened',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ImpactDto)
  impact?: ImpactDto;

  @ApiPropertyOptional({ description: 'imminent: where to evacuate (shelter)' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  shelter?: string;
}

export class CreateWarningDto extends WarningBodyDto {
  @ApiProperty({ enum: WARNING_KINDS })
  @IsIn(WARNING_KINDS)
  kind: WarningKind;

  @ApiPropertyOptional({ enum: WARNING_STATUSES, default: 'actual' })
  @IsOptional()
  @IsIn(WARNING_STATUSES)
  status?: WarningStatus;
}

export class UpdateWarningDto extends WarningBodyDto {}

export class CancelWarningDto {
  @ApiPropertyOptional({ example: '降雨减弱，风险解除' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  reason?: string;
}

/** POST /v1/warnings/:id/approve: the preview the approver saw. */
export class ApproveWarningDto {
  @ApiProperty({
    description: 'previewHash of the draft as the approver saw it (GET /v1/warnings/drafts/:id)',
    example: 'a3f1…',
  })
  @IsString()
  @Matches(/^[0-9a-f]{64}$/, {
    message: 'previewHash must be the 64-character hex hash of the preview',
  })
  previewHash: string;
}
