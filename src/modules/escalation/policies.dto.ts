import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  Validate,
  type ValidationArguments,
  ValidateIf,
  ValidateNested,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { PERSON_ROLES } from '../../common/domain/directory.types';
import { WARNING_KINDS, WARNING_LEVELS, WARNING_STATUSES } from '../../common/domain/warning.types';
import { GROUP_CONFIRM_RULES } from '../chain/escalation-policy.types';

const STEP_CHANNELS = ['sms', 'voice', 'email'] as const;

export class VoiceRetriesDto {
  @ApiProperty({ example: 3 })
  @IsInt()
  @Min(1)
  @Max(10)
  times: number;

  @ApiProperty({ example: 300 })
  @IsInt()
  @Min(2)
  @Max(3600)
  withinSeconds: number;
}

export class PolicyStepDto {
  @ApiProperty({ enum: STEP_CHANNELS, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(STEP_CHANNELS, { each: true })
  channels: (typeof STEP_CHANNELS)[number][];

  @ApiProperty({ example: 300, description: 'seconds to wait for an answer before the next step' })
  @IsInt()
  @Min(5)
  @Max(86400)
  waitSeconds: number;

  @ApiPropertyOptional({ type: VoiceRetriesDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => VoiceRetriesDto)
  voiceRetries?: VoiceRetriesDto;
}

export class OnExhaustedDto {
  @ApiProperty() @IsBoolean() notWoken: boolean;
  @ApiProperty() @IsBoolean() supervisor: boolean;
  @ApiProperty() @IsBoolean() doorToDoor: boolean;
}

/** Most responsible persons a grid has in practice; a larger count cannot be meant. */
export const GROUP_CONFIRM_MAX_COUNT = 50;

@ValidatorConstraint({ name: 'countOnlyWithAtLeast' })
class CountOnlyWithAtLeast implements ValidatorConstraintInterface {
  validate(_count: unknown, args: ValidationArguments): boolean {
    return (args.object as GroupConfirmDto).rule === 'at_least';
  }
  defaultMessage(): string {
    return 'count is given only with rule at_least';
  }
}

export class GroupConfirmDto {
  @ApiProperty({
    enum: GROUP_CONFIRM_RULES,
    example: 'all',
    description:
      'one: one responsible person of the grid confirmed; all: every one of them; at_least: `count` of them (all of them when the grid has fewer)',
  })
  @IsIn(GROUP_CONFIRM_RULES)
  rule: (typeof GROUP_CONFIRM_RULES)[number];

  @ApiPropertyOptional({
    minimum: 1,
    maximum: GROUP_CONFIRM_MAX_COUNT,
    example: 2,
    description: "only with rule at_least: confirmations needed (N of the grid's M)",
  })
  @ValidateIf((o: GroupConfirmDto) => o.rule === 'at_least' || o.count !== undefined)
  @Validate(CountOnlyWithAtLeast)
  @IsInt()
  @Min(1)
  @Max(GROUP_CONFIRM_MAX_COUNT)
  count?: number;
}

export class PolicyDto {
  @ApiProperty({ example: '红橙预警-责任人' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name: string;

  @ApiProperty({ enum: WARNING_KINDS, isArray: true, description: 'empty: any' })
  @IsArray()
  @IsIn(WARNING_KINDS, { each: true })
  kinds: string[];

  @ApiProperty({ enum: WARNING_LEVELS, isArray: true })
  @IsArray()
  @IsIn(WARNING_LEVELS, { each: true })
  levels: string[];

  @ApiProperty({ enum: WARNING_STATUSES, isArray: true })
  @IsArray()
  @IsIn(WARNING_STATUSES, { each: true })
  statuses: string[];

  @ApiProperty({ enum: PERSON_ROLES, isArray: true })
  @IsArray()
  @IsIn(PERSON_ROLES, { each: true })
  roles: string[];

  @ApiProperty({ example: 20, description: 'lower wins when several policies match' })
  @IsInt()
  @Min(0)
  @Max(999)
  rank: number;

  @ApiPropertyOptional({
    default: false,
    description:
      "only for people in the warning's danger zone: threatened by one of its hazard points or risk zones (everyone targeted when it names none)",
  })
  @IsOptional()
  @IsBoolean()
  dangerZoneOnly: boolean = false;

  @ApiProperty({ type: [PolicyStepDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => PolicyStepDto)
  steps: PolicyStepDto[];

  @ApiProperty({ type: OnExhaustedDto })
  @IsObject()
  @ValidateNested()
  @Type(() => OnExhaustedDto)
  onExhausted: OnExhaustedDto;

  @ApiPropertyOptional({ nullable: true, type: Number })
  @IsOptional()
  @IsInt()
  @Min(5)
  @Max(86_400)
  groupRuleSeconds: number | null = null;

  @ApiPropertyOptional({
    type: GroupConfirmDto,
    default: { rule: 'one' },
    description:
      'what counts as answered for the group rule: how many responsible persons of a grid must have confirmed by groupRuleSeconds (a person who confirmed and then asked for help counts); otherwise the village is alerted',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => GroupConfirmDto)
  groupConfirm?: GroupConfirmDto;

  @ApiProperty({ example: 300, maximum: 604_800 })
  @IsInt()
  @Min(30)
  @Max(604_800)
  reachDeadlineSeconds: number;
}

/** A stored policy: what was sent, with its id. */
export class PolicyView extends PolicyDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
}
