import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { GATEWAY_RUNTIME, type GatewayRuntime } from '../../common/runtime.token';
import { Public } from '../auth/auth.decorators';
import { QueueHealthIndicator } from './queue.health';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly queues: QueueHealthIndicator,
    @Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime,
  ) {}

  /** Database, queue backend (Redis, or Postgres in the embedded default) and every queue. */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: 3000 }),
      // With the embedded default, the queue backend is the database itself.
      ...(this.runtime.queue.backend === 'redis' ? [() => this.queues.checkRedis('redis')] : []),
      () => this.queues.check('queues'),
    ]);
  }
}
