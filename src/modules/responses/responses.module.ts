import { EscalationService } from '../escalation/escalation.service';
import { ANSWER_LISTENER } from './answer-listener';
import { Module } from '@nestjs/common';
import { ChannelsModule } from '../../channels/channels.module';
import { TasksModule } from '../tasks/tasks.module';
import { DispatchModule } from '../dispatch/dispatch.module';
import { WarningsModule } from '../warnings/warnings.module';
import { AnswersService } from './answers.service';
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
  imports: [ChannelsModule, DispatchModule, WarningsModule, TasksModule],
  controllers: [
    TwilioWebhooksController,
    BroadcastWebhooksController,
    ConfirmLinkController,
    OnSiteController,
  ],
  providers: [
    AnswersService,
    DeliveryEventsService,
    OnSiteService,
    SmsRepliesService,
    SilentSendsService,
    InboundEvents,
    InboundSpool,
    // An effective answer stops the person's pending steps; a call for help escalates at once.
    { provide: ANSWER_LISTENER, useExisting: EscalationService },
  ],
  exports: [AnswersService, DeliveryEventsService, SilentSendsService, InboundEvents],
})
export class ResponsesModule {}
