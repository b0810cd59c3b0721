import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import { CompletedTaskView, CreatedTaskView, TaskView } from './tasks.responses';
import { UuidPipe } from '../../common/http/params';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { CompleteTaskDto, CreateTaskDto, ListTasksQuery } from './tasks.dto';
import { AnswersService } from '../chain/answers.service';
import { TasksService } from './tasks.service';

@ApiTags('tasks')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1')
export class TasksController {
  constructor(
    private readonly tasks: TasksService,
    private readonly answers: AnswersService,
  ) {}

  /** Assign a door-to-door or gong-and-whistle task to a member of a grid. */
  @Post('warnings/:id/tasks')
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Assign a door-to-door (敲门入户) or gong-and-whistle (鸣锣吹哨) task',
    description:
      "Sent by SMS to a member of the grid, with a short number to reply with; within the officer's jurisdiction.",
  })
  @ApiCreatedResponse({ type: CreatedTaskView })
  @ApiErrors(400, 404, 409, 413)
  create(
    @Param('id', UuidPipe) id: string,
    @Body() dto: CreateTaskDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.tasks.create(principal, id, dto);
  }

  @Get('tasks')
  @Roles('duty_officer', 'auditor', 'grid_member')
  @ApiOperation({
    summary: 'List tasks, open first',
    description: 'Grid members see their grid, duty officers their jurisdiction; at most 500.',
  })
  @ApiOkResponse({ type: [TaskView] })
  @ApiErrors(400)
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListTasksQuery) {
    return this.tasks.list(principal, query);
  }

  @Post('tasks/:id/complete')
  @HttpCode(200)
  @Roles('grid_member', 'duty_officer')
  @ApiOperation({
    summary: 'Complete a task with its outcome',
    description:
      "confirmed_on_site records the visited person's answer (现场确认) like any other answer.",
  })
  @ApiOkResponse({ type: CompletedTaskView })
  @ApiErrors(400, 404, 409, 413)
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
