import { AppException } from '../../common/errors/app.exception';
import { Controller, Post, Req, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { ApiTokenErrors } from '../../common/http/api-docs';
import { dashboardSecret, isSecure } from './queue-dashboard';
import {
  DashboardCredentials,
  QUEUE_DASHBOARD_PATH,
  SESSION_SECONDS,
  sessionCookie,
  TICKET_PARAM,
} from './queue-dashboard.session';

export class QueueDashboardSessionView {
  @ApiProperty({
    description:
      'Open this in a browser within a minute: it sets the session cookie and shows the dashboard',
    example: '/admin/queues?ticket=eyJ0Ijoi….Qk3x…',
  })
  url: string;

  @ApiProperty({ type: String, format: 'date-time', description: 'the ticket in `url` expires' })
  ticketExpiresAt: Date;

  @ApiProperty({
    type: String,
    format: 'date-time',
    description: 'the session cookie (set on this response too) expires',
  })
  sessionExpiresAt: Date;
}

/** Browser access to the queue dashboard (bull-board at /admin/queues) for admins. */
@ApiTags('operations')
@ApiBearerAuth()
@Controller('v1/admin/queue-dashboard')
export class QueueDashboardController {
  private readonly credentials: DashboardCredentials;

  constructor(config: ConfigService) {
    this.credentials = new DashboardCredentials(dashboardSecret(config));
  }

  @Post('session')
  @Roles('admin')
  @ApiOperation({
    summary: 'Open a queue dashboard session (admins)',
    description:
      'Browsers cannot send a bearer header: this returns a one-minute ticket URL for ' +
      `${QUEUE_DASHBOARD_PATH} (opening it sets an HttpOnly, SameSite=Strict session cookie for ` +
      `${SESSION_SECONDS / 60} minutes and drops the ticket from the address), and sets that ` +
      'cookie on this response for same-origin callers. Revoking the admin token ends the session.',
  })
  @ApiCreatedResponse({ type: QueueDashboardSessionView })
  @ApiTokenErrors()
  open(
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): QueueDashboardSessionView {
    // It takes nothing: a body or a query parameter is a mistake, said as one (400 naming it).
    const body = req.body as unknown;
    const extra = [
      ...Object.keys(req.query ?? {}).map((k) => ({ field: k, message: 'takes no parameter' })),
      ...(Array.isArray(body) ||
      (typeof body === 'object' && body !== null && Object.keys(body).length) ||
      (typeof body === 'string' && body.length)
        ? [{ field: 'body', message: 'takes no body' }]
        : []),
    ];
    if (extra.length) throw AppException.validation(extra);
    const ticket = this.credentials.issue(principal.tokenId, 'ticket');
    const session = this.credentials.issue(principal.tokenId, 'session');
    res.setHeader('Set-Cookie', sessionCookie(session.value, SESSION_SECONDS, isSecure(req)));
    res.setHeader('Cache-Control', 'no-store');
    return {
      url: `${QUEUE_DASHBOARD_PATH}?${TICKET_PARAM}=${encodeURIComponent(ticket.value)}`,
      ticketExpiresAt: ticket.expiresAt,
      sessionExpiresAt: session.expiresAt,
    };
  }
}
