import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { HAZARD_TYPES, type HazardType } from '../../../common/domain/warning.types';

export class ReporterDto {
  @ApiProperty({ example: '李网格', description: "the reporter's name" })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name: string;

  @ApiPropertyOptional({ example: '+8613800000002', description: 'a number to call back (E.164)' })
  @IsOptional()
  @Matches(/^\+?\d{5,20}$/, { message: 'phone must be a telephone number' })
  phone?: string;

  @ApiPropertyOptional({
    example: '网格员',
    description: 'what the reporter is (网格员, 监测员, 村民…)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  role?: string;
}

/** POST /v1/hazard-reports: 险情上报. */
export class CreateHazardReportDto {
  @ApiPropertyOptional({
    example: 'HP-1',
    description: 'the hazard point (隐患点) code; or give divisionCode and location',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  hazardPoint?: string;

  @ApiPropertyOptional({
    example: '513221001001',
    description: 'the division (9 or 12 digits) when the place is not a known hazard point',
  })
  @IsOptional()
  @Matches(/^\d{6}(\d{3}(\d{3})?)?$/, { message: 'divisionCode must be a 6, 9 or 12-digit code' })
  divisionCode?: string;

  @ApiPropertyOptional({ example: '渔子溪村三组后山', description: 'where, in words' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  location?: string;

  @ApiProperty({ example: '后山出现长约50米的裂缝，房屋墙体开裂', description: 'what was seen' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(4000)
  observed: string;

  @ApiProperty({ example: 600, description: 'people threatened (to relocate)', minimum: 0 })
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  peopleThreatened: number;

  @ApiPropertyOptional({ example: 1200, description: 'possible loss, 万元', minimum: 0 })
  @IsOptional()
  @IsNumber({ maxDecimalPlaces: 2 })
  @Min(0)
  @Max(1_000_000_000)
  possibleLoss?: number;

  @ApiPropertyOptional({ type: [String], description: 'photo links (https)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @Matches(/^https:\/\/[^\s]{1,2000}$/, { each: true, message: 'each photo must be an https link' })
  photos?: string[];

  @ApiProperty({ type: ReporterDto })
  @IsObject()
  @ValidateNested()
  @Type(() => ReporterDto)
  reporter: ReporterDto;
}

export const DIRECT_NOTICE_MEANS = [
  'loudspeaker',
  'gong',
  'whistle',
  'door_to_door',
  'phone',
  'sms',
  'shout',
  'other',
] as const;
export type DirectNoticeMeans = (typeof DIRECT_NOTICE_MEANS)[number];

/** POST /v1/hazard-reports/:id/direct-notice: the threatened people were told on site. */
export class DirectNoticeDto {
  @ApiProperty({ example: '李网格', description: 'who notified them' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  by: string;

  @ApiPropertyOptional({ description: 'when (default now)', example: '2026-07-01T20:05:00+08:00' })
  @IsOptional()
  @IsISO8601({ strict: true })
  at?: string;

  @ApiProperty({ example: 45, description: 'how many people were notified', minimum: 0 })
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  people: number;

  @ApiProperty({ enum: DIRECT_NOTICE_MEANS, isArray: true, description: 'by what means' })
  @IsArray()
  @ArrayMaxSize(10)
  @IsIn(DIRECT_NOTICE_MEANS, { each: true })
  means: DirectNoticeMeans[];

  @ApiPropertyOptional({ example: '已组织撤离至村小学', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string;

  @ApiPropertyOptional({
    description:
      'send the evacuation SMS now to every person threatened by the hazard point (through the ' +
      "report notices' queue and provider); default false: only the record is kept",
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  sendSms?: boolean;

  @ApiPropertyOptional({
    example: 'HP-1',
    description:
      "the hazard point whose threatened people are texted (default: the report's); needed with " +
      'sendSms when the report names none; must be in the report’s county',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  hazardPoint?: string;
}

/** POST /v1/hazard-reports/:id/warning: what the officer overrides in the drafted warning. */
export class DraftWarningDto {
  @ApiPropertyOptional({
    enum: ['red', 'orange'],
    description: 'default red for 特大型/大型, else orange',
  })
  @IsOptional()
  @IsIn(['red', 'orange', 'yellow', 'blue'])
  level?: 'red' | 'orange' | 'yellow' | 'blue';

  @ApiPropertyOptional({ enum: HAZARD_TYPES, description: "default: the hazard point's hazard" })
  @IsOptional()
  @IsIn(HAZARD_TYPES)
  hazard?: HazardType;

  @ApiPropertyOptional({ example: '渔子溪村滑坡临灾预警' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  headline?: string;

  @ApiPropertyOptional({ example: '立即撤离至渔子溪小学避险点' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  instruction?: string;

  @ApiPropertyOptional({ example: '渔子溪小学' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  shelter?: string;

  @ApiPropertyOptional({ description: 'expected onset (default: in one hour)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  onset?: string;

  @ApiPropertyOptional({ description: 'expires (default: in 24 hours)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  expires?: string;
}

export class ListHazardReportsQuery {
  @ApiPropertyOptional({ enum: ['open', 'closed'] })
  @IsOptional()
  @IsIn(['open', 'closed'])
  state?: 'open' | 'closed';
}
