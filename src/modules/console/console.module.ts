import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AuthModule } from '../auth/auth.module';
import { EscalationModule } from '../escalation/escalation.module';
import { WarningsModule } from '../warnings/warnings.module';
import {
  ConsoleApiController,
  ConsoleLabelsController,
  ConsolePageController,
} from './console.controller';
import { ConsolePreviewService } from '../warnings/message-preview.service';
import { ConsoleViewsController } from './console-views.controller';
import { ConsoleStreamService } from './console-stream.service';

/**
 * The duty console: a static page at /console, a message preview, a live SSE summary and a few
 * read-only views (who am I, a grid member's warnings, a village's grids, loudspeaker receipts).
 */
@Module({
  imports: [AuthModule, WarningsModule, EscalationModule],
  controllers: [
    ConsolePageController,
    ConsoleApiController,
    ConsoleLabelsController,
    ConsoleViewsController,
  ],
  providers: [ConsolePreviewService, ConsoleStreamService],
})
export class ConsoleModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(tokenFromQuery)
      .forRoutes({ path: 'v1/console/warnings/:id/stream', method: RequestMethod.GET });
  }
}

/**
 * EventSource cannot send headers: take `?token=` as the bearer token (the global guard then
 * authenticates it with TokensService and applies the route's roles and the handler the same
 * jurisdiction check as GET /v1/warnings/:id).
 */
export function tokenFromQuery(req: Request, _res: Response, next: NextFunction): void {
  const token = new URL(req.originalUrl ?? req.url, 'http://console.invalid').searchParams.get(
    'token',
  );
  if (token && !req.headers.authorization) req.headers.authorization = `Bearer ${token}`;
  next();
}
