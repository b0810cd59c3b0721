import { Module } from '@nestjs/common';
import { WarningsModule } from '../warnings/warnings.module';
import { ChainsController } from './chains.controller';
import { ReportsController } from './reports.controller';
import { ReportsRepository } from './reports.repository';
import { ReportsService } from './reports.service';

/** Response chains, timelines, reports and their CSV exports (read-only). */
@Module({
  imports: [WarningsModule],
  controllers: [ChainsController, ReportsController],
  providers: [ReportsService, ReportsRepository],
  exports: [ReportsService],
})
export class ReportsModule {}
