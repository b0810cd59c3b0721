import type { DynamicModule } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { buildValidationPipe } from './common/errors/validation.pipe';
import { bodyLimits, type LargeBodyRoute } from './common/http/body-limits';
import { rateLimits } from './common/http/rate-limits';
import { SafeInputPipe } from './common/http/safe-input';
import {
  type EnvironmentVariables,
  parseByteSize,
  trustProxySetting,
} from './config/env.validation';
import { ROLES_KEY } from './modules/auth/auth.decorators';
import { TokensService } from './modules/auth/tokens.service';
import { ImportController } from './modules/directory/import/import.controller';
import { WarningsController } from './modules/warnings/warnings.controller';

/**
 * The console page loads one script and one stylesheet from /console/assets and talks to the
 * API (fetch, EventSource) on the same origin; it has no inline script or style.
 */
export const CONSOLE_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
  },
};

/** The routes that take large text bodies, with the roles their handlers allow. */
function largeBodyRoutes(): LargeBodyRoute[] {
  const rolesOf = (handler: unknown): string[] =>
    (Reflect.getMetadata(ROLES_KEY, handler as object) as string[] | undefined) ?? [];
  return [
    {
      method: 'POST',
      path: /^\/v1\/directory\/imports\/[^/]+\/?$/,
      roles: rolesOf(ImportController.prototype.import),
    },
    {
      method: 'POST',
      path: /^\/v1\/warnings\/cap\/?$/,
      roles: rolesOf(WarningsController.prototype.importCap),
    },
  ];
}

/** Creates the HTTP app with everything it needs beyond its modules; shared by main.ts and tests. */
export async function createHttpApp(rootModule: DynamicModule): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(rootModule, {
    bufferLogs: true,
    // Bodies are parsed by bodyLimits below: a limit per route, decided before reading.
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  const config = app.get<ConfigService<EnvironmentVariables, true>>(ConfigService);
  app.set('trust proxy', trustProxySetting(config.get('TRUST_PROXY')));
  app.use(helmet({ contentSecurityPolicy: false }));
  app.use('/console', helmet.contentSecurityPolicy(CONSOLE_CSP));
  // Before the body is read: a throttled client costs no parsing.
  app.use(
    rateLimits({
      windowSeconds: config.get('RATE_LIMIT_WINDOW_SECONDS'),
      failures: config.get('RATE_LIMIT_FAILURES'),
      publicRequests: config.get('RATE_LIMIT_PUBLIC'),
    }),
  );
  const tokens = app.get(TokensService, { strict: false });
  app.use(
    bodyLimits({
      smallLimit: parseByteSize(config.get('BODY_LIMIT')),
      largeLimit: parseByteSize(config.get('IMPORT_BODY_LIMIT')),
      largeRoutes: largeBodyRoutes(),
      roleOf: async (token) => (await tokens.authenticate(token))?.role ?? null,
    }),
  );
  app.useGlobalPipes(new SafeInputPipe(), buildValidationPipe());
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
