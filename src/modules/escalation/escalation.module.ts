import { Module } from '@nestjs/common';
import { PoliciesController } from './policies.controller';
import { PoliciesRepository } from './policies.repository';

/** Escalation policies (API). The engine (EscalationService) runs with dispatch. */
@Module({
  controllers: [PoliciesController],
  providers: [PoliciesRepository],
  exports: [PoliciesRepository],
})
export class EscalationModule {}
