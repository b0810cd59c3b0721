import { Module } from '@nestjs/common';
import { ChainStatsService } from './chain-stats.service';
import { PoliciesController } from './policies.controller';
import { PoliciesRepository } from './policies.repository';

/** Escalation policies (API). The engine (EscalationService) runs with dispatch. */
@Module({
  controllers: [PoliciesController],
  providers: [PoliciesRepository, ChainStatsService],
  exports: [PoliciesRepository, ChainStatsService],
})
export class EscalationModule {}
