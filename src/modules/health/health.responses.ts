import { ApiProperty } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

const INDICATOR: { type: 'object'; additionalProperties: SchemaObject } = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

/** GET /health (Terminus), with this gateway's `degraded`. */
export class HealthView {
  @ApiProperty({
    enum: ['ok', 'degraded', 'error', 'shutting_down'],
    description: 'degraded: up, but work is overdue (sends waiting, 叫应 timers late)',
  })
  status: string;

  @ApiProperty({
    ...INDICATOR,
    description: 'the parts that are up: database, redis, queues (backlog), work (overdue)',
    example: { database: { status: 'up' }, queues: { status: 'up', backlog: 0 } },
  })
  info: Record<string, unknown>;

  @ApiProperty({ ...INDICATOR, description: 'the parts that are down', example: {} })
  error: Record<string, unknown>;

  @ApiProperty({ ...INDICATOR, description: 'every part' })
  details: Record<string, unknown>;
}
