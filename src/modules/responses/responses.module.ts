import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { WebhookAdmission } from '../../common/http/webhook-admission';
import type { EnvironmentVariables } from '../../config/env.validation';
import { ChannelsModule } from '../../channels/channels.module';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { DispatchQueueModule } from '../../common/queue/dispatch-queue.module';
import { TasksModule } from '../tasks/tasks.module';
import { DispatchModule } from '../dispatch/dispatch.module';
import { WarningsModule } from '../warnings/warnings.module';
import { BroadcastWebhooksController } from './broadcast-webhooks.controller';
import { ConfirmLinkController } from './confirm-link.controller';
import { DeliveryEventsService } from './delivery-events.service';
import { InboundEvents } from './inbound-events';
import { InboundSpool } from './inbound-spool';
import { OnSiteController } from './on-site.controller';
import { OnSiteService } from './on-site.service';
import { SilentSendsService } from './silent-sends.service';
import { SmsRepliesService } from './sms-replies.service';
import { TwilioWebhooksController } from './twilio-webhooks.controller';

/**
 * What comes back from people and providers: status callbacks and playback receipts, and the
 * answers (叫应) by keypress, SMS reply, signed link or on-site record.
 */
@Module({
  imports: [ChannelsModule, DispatchModule, DispatchQueueModule, WarningsModule, TasksModule],
  controllers: [
    TwilioWebhooksController,
    BroadcastWebhooksController,
    ConfirmLinkController,
    OnSiteController,
  ],
  providers: [
    DeliveryEventsService,
    OnSiteService,
    SmsRepliesService,
    SilentSendsService,
    InboundEvents,
    InboundSpool,
    // Load shedding of the provider webhooks (a middleware of app.setup.ts, and the answers'
    // acknowledgement deadline in TwilioWebhooksController).
    {
      provide: WebhookAdmission,
      inject: [ConfigService, DispatchQueue],
      useFactory: (config: ConfigService<EnvironmentVariables, true>, queue: DispatchQueue) =>
        new WebhookAdmission({
          maxCallbacks: config.get('WEBHOOK_MAX_IN_FLIGHT'),
          maxAnswers: config.get('ANSWER_MAX_IN_FLIGHT'),
          ackMs: config.get('ANSWER_ACK_MS'),
          // Answers queueing here: every worker's fan-out yields to them (FANOUT_YIELD_MAX_MS).
          pressureAt: config.get('ANSWER_PRESSURE_IN_HAND'),
          onAnswersPressing: () => queue.answersPressing(),
        }),
    },
  ],
  exports: [DeliveryEventsService, SilentSendsService, WebhookAdmission, InboundEvents],
})
export class ResponsesModule {}
