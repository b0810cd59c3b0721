import { Module } from '@nestjs/common';
import { DispatchQueueModule } from '../../common/queue/dispatch-queue.module';
import { DispatchModule } from './dispatch.module';
import { DispatchWorkers } from './dispatch.workers';

/** The queue workers (ROLE=worker or all). The recovery sweep is RecoveryModule's. */
@Module({
  imports: [DispatchModule, DispatchQueueModule],
  providers: [DispatchWorkers],
})
export class DispatchWorkersModule {}
