import { Module } from '@nestjs/common';
import { TargetingModule } from '../directory/targeting/targeting.module';
import { ChainModule } from '../chain/chain.module';
import { DispatchQueueModule } from '../../common/queue/dispatch-queue.module';
import { EscalationModule } from '../escalation/escalation.module';
import { ChannelReachService } from './channel-reach.service';
import { ConsolePreviewService } from './message-preview.service';
import { CapImportService } from './cap-import.service';
import { twoPersonRelease } from './release-policy';
import { WarningDraftsService } from './warning-drafts.service';
import { WarningsController } from './warnings.controller';
import { WarningsRepository } from './warnings.repository';
import { WarningsService } from './warnings.service';

@Module({
  imports: [TargetingModule, DispatchQueueModule, EscalationModule, ChainModule],
  controllers: [WarningsController],
  providers: [
    WarningsService,
    WarningsRepository,
    CapImportService,
    WarningDraftsService,
    ConsolePreviewService,
    ChannelReachService,
  ],
  exports: [WarningsService, WarningsRepository, WarningDraftsService],
})
export class WarningsModule {
  constructor() {
    // A bad TWO_PERSON_RELEASE stops the boot with a message naming it.
    twoPersonRelease();
  }
}
