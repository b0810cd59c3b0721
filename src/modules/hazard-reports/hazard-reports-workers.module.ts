import { Module } from '@nestjs/common';
import { HazardReportsCoreModule } from './hazard-reports-core.module';
import { HazardReportWorkers } from './hazard-reports.workers';

/** The hazard-reports queue worker (ROLE=worker or all). */
@Module({ imports: [HazardReportsCoreModule], providers: [HazardReportWorkers] })
export class HazardReportsWorkersModule {}
