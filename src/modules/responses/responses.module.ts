import { Module } from '@nestjs/common';
import { ChannelsModule } from '../../channels/channels.module';
import { DispatchModule } from '../dispatch/dispatch.module';
import { WarningsModule } from '../warnings/warnings.module';
import { BroadcastWebhooksController } from './broadcast-webhooks.controller';
import { DeliveryEventsService } from './delivery-events.service';
import { TwilioWebhooksController } from './twilio-webhooks.controller';

/** What comes back from people and providers: status callbacks, keypresses, replies, receipts. */
@Module({
  imports: [ChannelsModule, DispatchModule, WarningsModule],
  controllers: [TwilioWebhooksController, BroadcastWebhooksController],
  providers: [DeliveryEventsService],
  exports: [DeliveryEventsService],
})
export class ResponsesModule {}
