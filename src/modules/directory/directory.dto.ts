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
} from '../../common/domain/directory.types';

const DIVISION_CODE = /^\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?$/;
/** A division code, or a grid code (a village's 12 digits and the grid's number). */
const DIVISION_OR_GRID_CODE = /^(\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?|\d{12}[0-9A-Za-z_-]{1,20})$/;

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
  @ApiPropertyOptional({ type: [String], description: 'division codes (any level) or grid codes' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(5000)
  @Matches(DIVISION_OR_GRID_CODE, {
    each: true,
    message: 'each area must be a division code or a grid code',
  })
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
