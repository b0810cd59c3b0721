import { Module } from '@nestjs/common';
import { TargetingModule } from '../directory/targeting/targeting.module';
import { DispatchQueueModule } from '../dispatch/dispatch-queue.module';
import { EscalationModule } from '../escalation/escalation.module';
import { CapImportService } from './cap-import.service';
import { WarningsController } from './warnings.controller';
import { WarningsRepository } from './warnings.repository';
import { WarningsService } from './warnings.service';

@Module({
  imports: [TargetingModule, DispatchQueueModule, EscalationModule],
  controllers: [WarningsController],
  providers: [WarningsService, WarningsRepository, CapImportService],
  exports: [WarningsService, WarningsRepository],
})
export class WarningsModule {}
