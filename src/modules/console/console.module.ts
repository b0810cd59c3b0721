import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AuthModule } from '../auth/auth.module';
import { EscalationModule } from '../escalation/escalation.module';
import { WarningsModule } from '../warnings/warnings.module';
import { ConsoleApiController, ConsolePageController } from './console.controller';
import { ConsolePreviewService } from './console-preview.service';
import { ConsoleStreamService } from './console-stream.service';

/** The duty console: a static page at /console, a message preview and a live SSE summary. */
@Module({
  imports: [AuthModule, WarningsModule, EscalationModule],
  controllers: [ConsolePageController, ConsoleApiController],
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
