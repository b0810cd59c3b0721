import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { buildValidationPipe } from './common/errors/validation.pipe';

/** Raw-text bodies: directory imports (CSV, JSON lines) and CAP XML. */
const TEXT_TYPES = [
  'text/csv',
  'text/plain',
  'application/x-ndjson',
  'application/jsonl',
  'application/xml',
  'text/xml',
];

/** Creates the HTTP app with everything it needs beyond its modules; shared by main.ts and tests. */
export async function createHttpApp(rootModule: DynamicModule): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(rootModule, {
    bufferLogs: true,
    bodyParser: false,
    // Signed webhooks (broadcast receipts) are verified over the exact bytes received.
    rawBody: true,
  });
  app.useLogger(app.get(Logger));
  app.use(helmet({ contentSecurityPolicy: false }));
  app.useBodyParser('json', { limit: '5mb' });
  app.useBodyParser('urlencoded', { extended: false, limit: '1mb' });
  app.useBodyParser('text', { type: TEXT_TYPES, limit: '200mb' });
  app.useGlobalPipes(buildValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());

  const doc = new DocumentBuilder()
    .setTitle('Warning gateway 预警叫应网关')
    .setDescription(
      'Dispatches weather-risk and imminent geological-disaster warnings to every responsible person ' +
        'and resident, and records who answered (叫应).',
    )
    .setVersion('1.0')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc));
  return app;
}
