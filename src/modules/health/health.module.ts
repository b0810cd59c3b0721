import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { allQueuesProvider } from '../../common/queue/all-queues';
import { HealthController } from './health.controller';
import { InboundSpoolHealthIndicator } from './inbound.health';
import { QueueHealthIndicator } from './queue.health';
import { WorkHealthIndicator } from './work.health';
import { WorkMetrics } from './work.metrics';

@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [
    allQueuesProvider,
    QueueHealthIndicator,
    WorkHealthIndicator,
    WorkMetrics,
    InboundSpoolHealthIndicator,
  ],
})
export class HealthModule {}
