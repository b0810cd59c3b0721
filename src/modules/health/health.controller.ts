import { Controller, Get, Inject } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-docs';
import { HealthView } from './health.responses';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { GATEWAY_RUNTIME, type GatewayRuntime } from '../../common/runtime.token';
import { Public } from '../../common/auth/auth.decorators';
import { InboundSpoolHealthIndicator } from './inbound.health';
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
    private readonly inbound: InboundSpoolHealthIndicator,
    @Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime,
  ) {}

  /**
   * Database, queue backend (Redis, or Postgres in the embedded default), every queue's backlog,
   * overdue work and the inbound spool. 503 when a part is down; 200 with status "degraded" when
   * it is up but work is overdue (sends waiting, 叫应 timers late) or answers received while the
   * database was unreachable are not recorded yet.
   */
  @Get()
  // Documented below: Terminus's own schema has no `degraded`.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Health: database, queue backend, queues and overdue work',
    description:
      '200 with status ok, or degraded when a send has waited or a 叫应 timer is late more than ' +
      'HEALTH_OVERDUE_SECONDS, or answers received while the database was unreachable are not ' +
      'recorded yet (inbound: pending, oldestSeconds, failed); 503 (with Retry-After) when a part ' +
      'is down. No token needed.',
  })
  @ApiOkResponse({ type: HealthView })
  @ApiServiceUnavailableResponse({ type: HealthView, description: 'a part is down' })
  @ApiErrors(429)
  async check() {
    const result = await this.health.check([
      () => this.database.pingCheck('database', { timeout: 3000 }),
      // With the embedded default, the queue backend is the database itself.
      ...(this.runtime.queue.backend === 'redis' ? [() => this.queues.checkRedis('redis')] : []),
      () => this.queues.check('queues'),
      () => this.work.check('work'),
      () => this.inbound.check('inbound'),
    ]);
    const state = (key: string) => (result.details[key] as { state?: string } | undefined)?.state;
    const degraded = state('work') === 'degraded' || state('inbound') === 'degraded';
    return degraded ? { ...result, status: 'degraded' } : result;
  }
}
