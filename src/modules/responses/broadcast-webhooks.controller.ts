import {
  Body,
  Controller,
  Headers,
  HttpCode,
  Post,
  type RawBodyRequest,
  Req,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { BroadcastReceiptVerifier } from '../../channels/broadcast/broadcast.channel';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { Public } from '../../common/auth/auth.decorators';
import { DeliveryEventsService } from './delivery-events.service';

/** Playback receipts from the emergency broadcast platform, one per terminal (HMAC-signed). */
@ApiExcludeController()
@Public()
@Controller('webhooks/broadcast')
export class BroadcastWebhooksController {
  constructor(
    private readonly verifier: BroadcastReceiptVerifier,
    private readonly events: DeliveryEventsService,
  ) {}

  @Post('receipts')
  @HttpCode(204)
  async receipt(
    @Req() req: RawBodyRequest<Request>,
    @Body() _body: unknown,
    @Headers('x-broadcast-signature') sig?: string,
  ) {
    const receipt = this.verifier.verify(req.rawBody ?? Buffer.alloc(0), sig);
    if (!receipt)
      throw new AppException(
        ErrorCode.InvalidSignature,
        '签名无效',
        'Invalid X-Broadcast-Signature',
      );
    await this.events.broadcastReceipt(receipt);
  }
}
