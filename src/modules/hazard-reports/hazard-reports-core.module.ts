import { Module } from '@nestjs/common';
import { ChannelsModule } from '../../channels/channels.module';
import { DispatchQueueModule } from '../../common/queue/dispatch-queue.module';
import { HazardReportLinks } from './hazard-report-links';
import { HazardReportChain } from './hazard-report.chain';
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
    HazardReportChain,
  ],
  exports: [
    HazardReportsRepository,
    HazardReportQueue,
    HazardReportSender,
    HazardReportNotifier,
    HazardReportLinks,
    HazardReportChain,
  ],
})
export class HazardReportsCoreModule {}
