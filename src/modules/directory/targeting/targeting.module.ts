import { Module } from '@nestjs/common';
import { TargetingService } from './targeting.service';

/**
 * Resolves a warning's targets (areas, hazard points, risk zones, roles) to its recipients.
 * Needs the application's TypeORM DataSource (TypeOrmModule.forRoot…) to be available.
 */
@Module({
  providers: [TargetingService],
  exports: [TargetingService],
})
export class TargetingModule {}
