import { ApiProperty } from '@nestjs/swagger';
import { TASK_OUTCOMES, TASK_TYPES } from './tasks.dto';

/** Response shapes of the task routes (OpenAPI only; the handlers build them). */

const STATUSES = ['open', 'done', 'cancelled'];

export class CreatedTaskView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ description: 'short number for SMS replies', example: 17 }) number: number;
  @ApiProperty({
    enum: TASK_TYPES,
    description: 'door_to_door 敲门入户, gong_and_whistle 鸣锣吹哨',
  })
  type: string;
  @ApiProperty({ example: '513221001001001' }) grid: string;
  @ApiProperty({ enum: STATUSES }) status: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'uuid', description: 'the grid member who was sent the task' })
  assigneeId: string;
  @ApiProperty({ format: 'uuid', description: 'the SMS that carries the task' }) attemptId: string;
}

export class TaskView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 17 }) number: number;
  @ApiProperty({ format: 'uuid' }) warningId: string;
  @ApiProperty({ enum: TASK_TYPES }) type: string;
  @ApiProperty({ example: '513221001001001' }) grid: string;
  @ApiProperty({ enum: STATUSES }) status: string;
  @ApiProperty({ type: String, nullable: true }) reason: string | null;
  @ApiProperty({ type: String, nullable: true, enum: TASK_OUTCOMES }) outcome: string | null;
  @ApiProperty({ type: String, nullable: true }) note: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: Date | null;
  @ApiProperty({ type: String, nullable: true, description: "the assignee's name" })
  assignee: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the person to visit' })
  subject: string | null;
}

export class CompletedTaskView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: STATUSES }) status: string;
  @ApiProperty({ type: String, nullable: true, enum: TASK_OUTCOMES }) outcome: string | null;
  @ApiProperty({ type: String, nullable: true }) note: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: Date | null;
}
