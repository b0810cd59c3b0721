import { Global, Module } from '@nestjs/common';
import { ChannelsModule } from '../../channels/channels.module';
import { WarningsModule } from '../warnings/warnings.module';
import { HazardReportCallsController } from './hazard-report-calls.controller';
import { HazardReportSender } from './hazard-report.sender';
import { HAZARD_REPORT_SMS } from './hazard-report-sms';
import { HazardReportsController } from './hazard-reports.controller';
import { HazardReportsRepository } from './hazard-reports.repository';
import { HazardReportsService } from './hazard-reports.service';

/**
 * 险情上报: hazard reports, their notices to duty offices, acknowledgements and the 1-hour rule.
 * Global only to offer the SMS handler (HAZARD_REPORT_SMS) to the SMS replies service.
 */
@Global()
@Module({
  imports: [ChannelsModule, WarningsModule],
  controllers: [HazardReportsController, HazardReportCallsController],
  providers: [
    HazardReportsService,
    HazardReportsRepository,
    HazardReportSender,
    { provide: HAZARD_REPORT_SMS, useExisting: HazardReportsService },
  ],
  exports: [HAZARD_REPORT_SMS],
})
export class HazardReportsModule {}
