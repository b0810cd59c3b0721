import { Module } from '@nestjs/common';
import { ChainModule } from '../chain/chain.module';
import { DispatchQueueModule } from '../../common/queue/dispatch-queue.module';
import { WarningsModule } from '../warnings/warnings.module';
import { TasksService } from './tasks.service';

@Module({
  imports: [WarningsModule, DispatchQueueModule, ChainModule],
  providers: [TasksService],
  exports: [TasksService],
})
export class TasksModule {}
