import { Module } from '@nestjs/common';
import { ChannelsModule } from '../../channels/channels.module';
import { DispatchQueueModule } from '../../common/queue/dispatch-queue.module';
import { HazardReportLinks } from './hazard-report-links';
import { HazardReportNotifier } from './hazard-report.notifier';
import { HazardReportQueue } from './hazard-report.queue';
import { HazardReportSender } from './hazard-report.sender';
import { HazardReportsRepository } from './hazard-reports.repository';

/** What both the API and the worker need of hazard reports: the rows, the queue, the sends. */
@Module({
  imports: [ChannelsModule, DispatchQueueModule],
  providers: [
    HazardReportsRepository,
    HazardReportQueue,
    HazardReportSender,
    HazardReportNotifier,
    HazardReportLinks,
  ],
  exports: [
    HazardReportsRepository,
    HazardReportQueue,
    HazardReportSender,
    HazardReportNotifier,
    HazardReportLinks,
  ],
})
export class HazardReportsCoreModule {}
