import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { UuidPipe } from '../../common/http/params';
import { CurrentPrincipal, type Principal, Roles } from '../auth/auth.decorators';
import { CompleteTaskDto, CreateTaskDto, ListTasksQuery } from './tasks.dto';
import { AnswersService } from '../responses/answers.service';
import { TasksService } from './tasks.service';

@ApiTags('tasks')
@ApiBearerAuth()
@Controller('v1')
export class TasksController {
  constructor(
    private readonly tasks: TasksService,
    private readonly answers: AnswersService,
  ) {}

  /** Assign a door-to-door or gong-and-whistle task to a member of a grid. */
  @Post('warnings/:id/tasks')
  @Roles('duty_officer')
  create(
    @Param('id', UuidPipe) id: string,
    @Body() dto: CreateTaskDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.tasks.create(principal, id, dto);
  }

  @Get('tasks')
  @Roles('duty_officer', 'auditor', 'grid_member')
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListTasksQuery) {
    return this.tasks.list(principal, query);
  }

  @Post('tasks/:id/complete')
  @HttpCode(200)
  @Roles('grid_member', 'duty_officer')
  async complete(
    @Param('id', UuidPipe) id: string,
    @Body() dto: CompleteTaskDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    const { onSite } = await this.tasks.complete(principal, id, dto);
    // The visited person confirmed on site: their answer, recorded like any other.
    if (onSite) await this.answers.recordOnSite(onSite);
    return this.tasks.findDone(id);
  }
}
