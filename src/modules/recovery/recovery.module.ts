import { Module } from '@nestjs/common';
import { DispatchQueueModule } from '../../common/queue/dispatch-queue.module';
import { DispatchModule } from '../dispatch/dispatch.module';
import { ResponsesModule } from '../responses/responses.module';
import { RecoverySweep } from './recovery-sweep';

/**
 * The recovery sweep of the worker processes (ROLE=worker or all). It sits above dispatch and
 * responses: it re-queues lost sends and timers (dispatch) and asks providers about sends whose
 * status callbacks never came, applying what they say as callbacks (responses).
 */
@Module({
  imports: [DispatchModule, DispatchQueueModule, ResponsesModule],
  providers: [RecoverySweep],
})
export class RecoveryModule {}
