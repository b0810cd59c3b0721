import { Global, Module } from '@nestjs/common';
import { ChannelsModule } from '../../channels/channels.module';
import { WarningsModule } from '../warnings/warnings.module';
import { HazardReportCallsController } from './hazard-report-calls.controller';
import { HazardReportLinkController } from './hazard-report-link.controller';
import { HAZARD_REPORT_SMS } from './hazard-report-sms';
import { HazardReportsController } from './hazard-reports.controller';
import { HazardReportsCoreModule } from './hazard-reports-core.module';
import { HazardReportsService } from './hazard-reports.service';

/**
 * 险情上报: hazard reports, their notices to duty offices, acknowledgements and the 1-hour rule.
 * Global only to offer the SMS handler (HAZARD_REPORT_SMS) to the SMS replies service.
 */
@Global()
@Module({
  imports: [ChannelsModule, WarningsModule, HazardReportsCoreModule],
  controllers: [HazardReportsController, HazardReportCallsController, HazardReportLinkController],
  providers: [
    HazardReportsService,
    { provide: HAZARD_REPORT_SMS, useExisting: HazardReportsService },
  ],
  exports: [HAZARD_REPORT_SMS],
})
export class HazardReportsModule {}
