import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';

export const TASK_TYPES = ['door_to_door', 'gong_and_whistle'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const TASK_OUTCOMES = ['confirmed_on_site', 'evacuated', 'not_found', 'refused'] as const;
export type TaskOutcome = (typeof TASK_OUTCOMES)[number];

export class CreateTaskDto {
  @ApiProperty({
    enum: TASK_TYPES,
    description: 'door_to_door 敲门入户, gong_and_whistle 鸣锣吹哨',
  })
  @IsIn(TASK_TYPES)
  type: TaskType;

  @ApiProperty({ description: 'grid whose members do the task' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  grid: string;

  @ApiPropertyOptional({ description: 'the person to visit (door-to-door)' })
  @IsOptional()
  @IsUUID()
  personId?: string;

  @ApiPropertyOptional({ example: '电话三次未接通' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class CompleteTaskDto {
  @ApiProperty({ enum: TASK_OUTCOMES })
  @IsIn(TASK_OUTCOMES)
  outcome: TaskOutcome;

  @ApiPropertyOptional({ example: '已当面告知并协助撤离' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  note?: string;
}

export class ListTasksQuery {
  @ApiPropertyOptional({ description: 'only the tasks of this warning' })
  @IsOptional()
  @IsUUID()
  warningId?: string;

  @ApiPropertyOptional({ enum: ['open', 'done', 'cancelled'] })
  @IsOptional()
  @IsIn(['open', 'done', 'cancelled'])
  status?: 'open' | 'done' | 'cancelled';
}
