import { Module } from '@nestjs/common';
import { ChannelsModule } from '../../channels/channels.module';
import { ChainModule } from '../chain/chain.module';
import { TargetingModule } from '../directory/targeting/targeting.module';
import { EscalationModule } from '../escalation/escalation.module';
import { EscalationService } from './escalation.service';
import { TasksModule } from '../tasks/tasks.module';
import { WarningsModule } from '../warnings/warnings.module';
import { AttemptBatches } from './attempt-batches';
import { CallAgainController } from './call-again.controller';
import { DispatchQueueModule } from '../../common/queue/dispatch-queue.module';
import { DispatchRepository } from './dispatch.repository';
import { FanoutService } from './fanout.service';
import { GroupSendPlanner } from './group-send.planner';
import { LifecycleService } from './lifecycle.service';
import { MessageRenderer } from './message-renderer';
import { NumberLimits } from './number-limits';
import { SendAttemptService } from './send-attempt.service';
import { SendBatchService } from './send-batch.service';
import { SendGroupService } from './send-group.service';

/** Fan-out and sending: the services, shared by the workers and the webhooks (failover). */
@Module({
  imports: [
    ChannelsModule,
    TargetingModule,
    WarningsModule,
    DispatchQueueModule,
    EscalationModule,
    TasksModule,
    ChainModule,
  ],
  providers: [
    AttemptBatches,
    DispatchRepository,
    EscalationService,
    FanoutService,
    GroupSendPlanner,
    LifecycleService,
    MessageRenderer,
    NumberLimits,
    SendAttemptService,
    SendBatchService,
    SendGroupService,
  ],
  exports: [
    ChainModule,
    DispatchRepository,
    EscalationService,
    FanoutService,
    LifecycleService,
    MessageRenderer,
    SendAttemptService,
    SendBatchService,
    SendGroupService,
  ],
})
export class DispatchModule {}

/** Duty officer actions on chains (HTTP). */
@Module({
  imports: [DispatchModule, WarningsModule],
  controllers: [CallAgainController],
})
export class DispatchApiModule {}
