import { Module } from '@nestjs/common';
import { ChainModule } from '../chain/chain.module';
import { TasksController } from './tasks.controller';
import { TasksModule } from './tasks.module';

/**
 * The task routes (HTTP). Completing a task on site records the visited person's answer through
 * the chain's AnswersService (the escalation engine hears of it from there).
 */
@Module({
  imports: [TasksModule, ChainModule],
  controllers: [TasksController],
})
export class TasksApiModule {}
