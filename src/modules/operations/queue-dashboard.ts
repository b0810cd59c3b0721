import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bullmq';
import { ConfigService } from '@nestjs/config';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Queue } from 'bullmq';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { ALL_QUEUES, type QueueName } from '../../common/queue/queue-names';
import { GATEWAY_RUNTIME, type GatewayRuntime } from '../../common/runtime.token';
import type { Principal } from '../../common/auth/auth.decorators';
import { TokensService } from '../auth/tokens.service';
import {
  cookieValue,
  DashboardCredentials,
  QUEUE_DASHBOARD_PATH,
  SESSION_COOKIE,
  SESSION_SECONDS,
  sessionCookie,
  TICKET_PARAM,
} from './queue-dashboard.session';

const DESCRIPTIONS: Record<QueueName, string> = {
  fanout: 'Per warning version: resolve recipients, write deliveries and attempts (分发)',
  escalation: '叫应 timers: a step running out, the group rule of a grid (升级)',
  lifecycle: 'Expiry timers (过期)',
  'send-sms': 'SMS sends (短信)',
  'send-sms-batch': 'A warning’s first SMS contacts, a batch of people a job (短信批量首发)',
  'send-voice': 'Voice calls (语音电话)',
  'send-email': 'E-mail sends (电子邮件)',
  'send-robot': 'WeCom / DingTalk / Feishu group robots (群机器人)',
  'send-broadcast': 'Emergency broadcast terminals (应急广播)',
  'hazard-reports':
    'Hazard report notices to duty offices, and their 1-hour deadline timers (险情上报)',
  'inbound-spool':
    'Answers received while Postgres was unreachable, recorded once it is back (数据库中断期间收到的应答)',
};

/** Without APP_SECRET (development only): a key of this process, sessions end with it. */
const processKey = randomBytes(32).toString('hex');

/** The key material of dashboard tickets and sessions. */
export function dashboardSecret(config: ConfigService): string {
  return (config.get<string>('APP_SECRET') as string | undefined) ?? processKey;
}

/** Whether the request came over TLS (directly, or per X-Forwarded-Proto with TRUST_PROXY). */
export function isSecure(req: Request): boolean {
  return req.secure;
}

function refuse(res: Response, status: 401 | 403, zh: string, en: string): void {
  res
    .status(status)
    .set('Cache-Control', 'no-store')
    .json({
      error: {
        code: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
        message: zh,
        messageEn: en,
      },
    });
}

/**
 * Admins only: a bearer header (API clients, curl), or the session cookie a ticket was traded
 * for (browsers). A ticket in the URL is checked, traded for the cookie and removed from the
 * address with a redirect. No credential or a bad one is 401 (counted by the rate limiter like
 * any failed authentication), another role 403.
 */
export function dashboardAuth(
  tokens: TokensService,
  credentials: DashboardCredentials,
): RequestHandler {
  const adminOf = async (tokenId: string | null): Promise<Principal | null | undefined> =>
    tokenId ? (await tokens.activePrincipals([tokenId])).get(tokenId) : null;
  return (req: Request, res: Response, next: NextFunction) => {
    void (async () => {
      res.set('Cache-Control', 'no-store');
      const header = req.headers.authorization;
      let principal: Principal | null | undefined;
      if (header?.startsWith('Bearer ')) {
        principal = await tokens.authenticate(header.slice(7).trim());
        if (!principal) return refuse(res, 401, '访问令牌无效或已吊销', 'Invalid or revoked token');
      } else {
        const ticket = req.method === 'GET' ? req.query[TICKET_PARAM] : undefined;
        if (typeof ticket === 'string') {
          const admin = await adminOf(credentials.verify(ticket, 'ticket'));
          if (!admin || admin.role !== 'admin')
            return refuse(res, 401, '链接无效或已过期', 'Invalid or expired dashboard ticket');
          const session = credentials.issue(admin.tokenId, 'session');
          const url = new URL(req.originalUrl, 'http://dashboard.invalid');
          url.searchParams.delete(TICKET_PARAM);
          res.setHeader('Set-Cookie', sessionCookie(session.value, SESSION_SECONDS, isSecure(req)));
          res.redirect(303, `${url.pathname}${url.search}`);
          return;
        }
        const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
        if (!cookie)
          return refuse(
            res,
            401,
            '需要管理员令牌：请先调用 POST /v1/admin/queue-dashboard/session',
            'An admin token is required: open the URL that POST /v1/admin/queue-dashboard/session returns, or send Authorization: Bearer <admin token>',
          );
        principal = await adminOf(credentials.verify(cookie, 'session'));
        if (!principal)
          return refuse(res, 401, '会话无效或已过期', 'Invalid or expired dashboard session');
      }
      if (principal.role !== 'admin')
        return refuse(
          res,
          403,
          '仅管理员可查看队列',
          `Role ${principal.role} may not see the queues`,
        );
      next();
    })().catch(next);
  };
}

/**
 * bull-board at /admin/queues, read-only, over every queue of the gateway (ALL_QUEUES), on
 * whichever backend this process uses (Redis, or BullMQ's Postgres backend). Read-only: a
 * warning's sends must not be paused, emptied or re-added by hand (the recovery sweep re-enqueues
 * what was lost); job payloads hold ids only.
 */
export function mountQueueDashboard(app: NestExpressApplication): void {
  const queues = ALL_QUEUES.map((name) => ({
    name,
    queue: app.get<Queue>(getQueueToken(name), { strict: false }),
  }));
  const runtime = app.get<GatewayRuntime>(GATEWAY_RUNTIME, { strict: false });
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map(
      ({ name, queue }) =>
        new BullMQAdapter(queue, { readOnlyMode: true, description: DESCRIPTIONS[name] }),
    ),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: `预警叫应 queues (${runtime.queue.backend})`,
        hideDocsLink: true,
        miscLinks: [{ text: 'API docs', url: '/docs' }],
      },
    },
  });
  const credentials = new DashboardCredentials(dashboardSecret(app.get(ConfigService)));
  app.use(
    QUEUE_DASHBOARD_PATH,
    dashboardAuth(app.get(TokensService, { strict: false }), credentials),
    serverAdapter.getRouter() as RequestHandler,
  );
}
