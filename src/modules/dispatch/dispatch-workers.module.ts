import { Module } from '@nestjs/common';
import { ResponsesModule } from '../responses/responses.module';
import { DispatchQueueModule } from './dispatch-queue.module';
import { DispatchModule } from './dispatch.module';
import { DispatchWorkers } from './dispatch.workers';
import { RecoverySweep } from './recovery-sweep';

/** The queue workers (ROLE=worker or all). */
@Module({
  // Responses: the sweep asks providers about sends whose status callbacks never came.
  imports: [DispatchModule, DispatchQueueModule, ResponsesModule],
  providers: [DispatchWorkers, RecoverySweep],
})
export class DispatchWorkersModule {}
