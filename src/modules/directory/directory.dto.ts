import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import {
  DIVISION_LEVELS,
  type DivisionLevel,
  PERSON_ROLES,
  type PersonRole,
} from './directory.types';

const DIVISION_CODE = /^\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?$/;

export class DivisionQueryDto {
  @ApiPropertyOptional({ description: 'parent division code' })
  @IsOptional()
  @Matches(DIVISION_CODE, { message: 'parent must be a division code' })
  parent?: string;

  @ApiPropertyOptional({ enum: DIVISION_LEVELS })
  @IsOptional()
  @IsIn(DIVISION_LEVELS)
  level?: DivisionLevel;
}

export class TargetPreviewDto {
  @ApiPropertyOptional({ type: [String], description: 'division codes, any level' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(5000)
  @Matches(DIVISION_CODE, { each: true, message: 'each area must be a division code' })
  areas?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(5000)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  hazardPoints?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(5000)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  riskZones?: string[];

  @ApiPropertyOptional({ enum: PERSON_ROLES, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsIn(PERSON_ROLES, { each: true })
  roles?: PersonRole[];
}
