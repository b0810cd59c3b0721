import type { Server } from 'node:http';
import { type DynamicModule, Logger as NestLogger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { buildValidationPipe } from './common/errors/validation.pipe';
import { bodyLimits, type LargeBodyRoute } from './common/http/body-limits';
import { rateLimits } from './common/http/rate-limits';
import { WebhookAdmission } from './common/http/webhook-admission';
import { RateLimitStoreHandle } from './channels/resilience/rate-limit-store';
import { SafeInputPipe } from './common/http/safe-input';
import {
  type EnvironmentVariables,
  parseByteSize,
  trustProxySetting,
} from './config/env.validation';
import { ROLES_KEY } from './common/auth/auth.decorators';
import { TokensService } from './modules/auth/tokens.service';
import { ImportController } from './modules/directory/import/import.controller';
import { ApiErrorBody } from './common/http/api-docs';
import { OperationsModule } from './modules/operations/operations.module';
import { mountQueueDashboard } from './modules/operations/queue-dashboard';
import { WarningsController } from './modules/warnings/warnings.controller';
import { addAcceptHandles } from './runtime/accept-handles';

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

/** The store the providers' rate limits share, when this app has the channels (it always should). */
function sharedStore(app: NestExpressApplication) {
  try {
    return app.get(RateLimitStoreHandle, { strict: false }).store;
  } catch {
    return undefined;
  }
}

/** The webhooks' load shedding, when this app has the webhook controllers (it always should). */
function webhookAdmission(app: NestExpressApplication) {
  try {
    return app.get(WebhookAdmission, { strict: false });
  } catch {
    return undefined;
  }
}

/**
 * Starts listening with the configured backlog (HTTP_LISTEN_BACKLOG; Node's own default is 511),
 * on `host` when given, accepting up to HTTP_ACCEPTS_PER_TURN connections per turn of the event
 * loop (see addAcceptHandles). Shared by main.ts, the benches and the tests.
 */
export async function listenHttp(
  app: NestExpressApplication,
  port: number,
  host?: string,
): Promise<void> {
  const backlog = app
    .get<ConfigService<EnvironmentVariables, true>>(ConfigService)
    .get('HTTP_LISTEN_BACKLOG', { infer: true });
  // Nest passes the arguments through to http.Server#listen(port[, host][, backlog]).
  const listen = app.listen.bind(app) as (...args: unknown[]) => Promise<unknown>;
  await (host ? listen(port, host, backlog) : listen(port, backlog));
  const perTurn = app
    .get<ConfigService<EnvironmentVariables, true>>(ConfigService)
    .get('HTTP_ACCEPTS_PER_TURN', { infer: true });
  try {
    await addAcceptHandles(app.getHttpServer() as Server, perTurn, backlog);
  } catch (err) {
    // The server listens and answers as before; it only accepts one connection per turn.
    new NestLogger('HttpServer').warn(
      `accepting one connection per event-loop turn, not ${perTurn}: ${(err as Error).message}`,
    );
  }
}

/** Creates the HTTP app with everything it needs beyond its modules; shared by main.ts and tests. */
export async function createHttpApp(rootModule: DynamicModule): Promise<NestExpressApplication> {
  // Operator tools that only make sense with HTTP (the queue dashboard's session endpoint).
  const httpRoot: DynamicModule = {
    ...rootModule,
    imports: [...(rootModule.imports ?? []), OperationsModule],
  };
  const app = await NestFactory.create<NestExpressApplication>(httpRoot, {
    bufferLogs: true,
    // Bodies are parsed by bodyLimits below: a limit per route, decided before reading.
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  const config = app.get<ConfigService<EnvironmentVariables, true>>(ConfigService);
  // Idle keep-alive connections are left for the client to close (HTTP_KEEP_ALIVE_TIMEOUT_MS);
  // the headers of a request may take as long again as Node requires (headersTimeout above it).
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = config.get('HTTP_KEEP_ALIVE_TIMEOUT_MS');
  server.headersTimeout = server.keepAliveTimeout + 5_000;
  app.set('trust proxy', trustProxySetting(config.get('TRUST_PROXY')));
  app.use(helmet({ contentSecurityPolicy: false }));
  app.use('/console', helmet.contentSecurityPolicy(CONSOLE_CSP));
  // Before the body is read: a throttled client costs no parsing.
  app.use(
    rateLimits({
      windowSeconds: config.get('RATE_LIMIT_WINDOW_SECONDS'),
      failures: config.get('RATE_LIMIT_FAILURES'),
      publicRequests: config.get('RATE_LIMIT_PUBLIC'),
      store: sharedStore(app),
      keyPrefix: config.get('QUEUE_PREFIX'),
    }),
  );
  // Before the body is read too: a webhook past what this process has in hand is answered 503 at
  // once instead of queueing until the provider gives up.
  const admission = webhookAdmission(app);
  if (admission) app.use(admission.middleware());
  const tokens = app.get(TokensService, { strict: false });
  app.use(
    bodyLimits({
      smallLimit: parseByteSize(config.get('BODY_LIMIT')),
      largeLimit: parseByteSize(config.get('IMPORT_BODY_LIMIT')),
      largeRoutes: largeBodyRoutes(),
      roleOf: async (token) => (await tokens.authenticate(token))?.role ?? null,
    }),
  );
  // bull-board at /admin/queues: admins only (bearer header, or a cookie from a signed ticket).
  mountQueueDashboard(app);
  app.useGlobalPipes(new SafeInputPipe(), buildValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());

  SwaggerModule.setup('docs', app, () => createOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Warning gateway API 预警叫应网关',
  });
  return app;
}

/** The OpenAPI 3 document of the HTTP API (served at /docs, /docs-json and /docs-yaml). */
export function createOpenApiDocument(app: NestExpressApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Warning gateway 预警叫应网关')
    .setDescription(
      'Dispatches weather-risk and imminent geological-disaster warnings to every responsible ' +
        'person and resident, and records who answered (叫应).\n\n' +
        'Every call carries `Authorization: Bearer <token>`; a token has one role (admin, ' +
        'duty_officer, auditor, grid_member) and each operation names the roles it allows. ' +
        'Errors are JSON: `{ "error": { "code", "message" (Chinese), "messageEn", "fields"? } }` ' +
        '(schema ApiErrorBody); 429 and 503 carry Retry-After. Exports (CSV, XLSX) and CAP XML ' +
        'are files, not JSON. Not in this document: the duty console (/console), the queue ' +
        'dashboard for admins (/admin/queues, bull-board; see POST ' +
        '/v1/admin/queue-dashboard/session), provider webhooks and confirmation links (/c/…).',
    )
    .setVersion('1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'wgt_…',
      description: 'An API token (npm run cli -- tokens:create, or POST /v1/tokens as admin)',
    })
    .addTag('warnings', 'Issue, update, cancel (解除) warnings; CAP 1.2 import and export')
    .addTag('responses', 'Answers recorded on site (现场确认)')
    .addTag('tasks', 'Door-to-door (敲门入户) and gong-and-whistle (鸣锣吹哨) tasks')
    .addTag('reports', '叫应 chains, timelines, reports and their CSV / XLSX exports')
    .addTag('directory', 'Divisions, grids, people, robots, imports, recipient preview')
    .addTag('escalation policies', 'Who is called next, how, and after how long (升级策略)')
    .addTag('audit', 'The sealed audit log')
    .addTag('tokens', 'API tokens (admins)')
    .addTag('console', 'What the duty console needs beyond the API')
    .addTag('operations', 'Queue dashboard access')
    .addTag('health', 'Liveness and readiness')
    .build();
  return SwaggerModule.createDocument(app, config, {
    extraModels: [ApiErrorBody],
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
}
