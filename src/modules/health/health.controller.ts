import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { GATEWAY_RUNTIME, type GatewayRuntime } from '../../common/runtime.token';
import { Public } from '../auth/auth.decorators';
import { QueueHealthIndicator } from './queue.health';
import { WorkHealthIndicator } from './work.health';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly queues: QueueHealthIndicator,
    private readonly work: WorkHealthIndicator,
    @Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime,
  ) {}

  /**
   * Database, queue backend (Redis, or Postgres in the embedded default), every queue's backlog,
   * and overdue work. 503 when a part is down; 200 with status "degraded" when it is up but work
   * is overdue (sends waiting, 叫应 timers late).
   */
  @Get()
  @HealthCheck()
  async check() {
    const result = await this.health.check([
      () => this.database.pingCheck('database', { timeout: 3000 }),
      // With the embedded default, the queue backend is the database itself.
      ...(this.runtime.queue.backend === 'redis' ? [() => this.queues.checkRedis('redis')] : []),
      () => this.queues.check('queues'),
      () => this.work.check('work'),
    ]);
    const degraded = (result.details.work as { state?: string } | undefined)?.state === 'degraded';
    return degraded ? { ...result, status: 'degraded' } : result;
  }
}
