import { Module } from '@nestjs/common';
import { ResponsesModule } from '../responses/responses.module';
import { TasksController } from './tasks.controller';
import { TasksModule } from './tasks.module';

/**
 * The task routes (HTTP). Apart from TasksModule, which dispatch and responses use: completing a
 * task on site records the visited person's answer, so the routes sit above both.
 */
@Module({
  imports: [TasksModule, ResponsesModule],
  controllers: [TasksController],
})
export class TasksApiModule {}
