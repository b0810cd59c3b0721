import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { ANSWERS_DB } from '../../database/data-source';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../../common/auth/auth.decorators';
import { MessageRenderer } from '../dispatch/message-renderer';
import { reviveContent } from '../warnings/warnings.repository';
import {
  confirmPage,
  linkProblemPage,
  type LinkView,
  receivedPage,
  resultPage,
} from '../../templates/confirm-pages';
import { InboundEvents } from './inbound-events';
import { InboundSpool } from './inbound-spool';

/** Longer than any token the signer makes (43 characters): refused before any work. */
const MAX_TOKEN_LENGTH = 100;

/**
 * Signed confirmation links (/c/:token) in SMS, e-mail and group-robot messages. GET shows the
 * warning and two buttons and never changes anything (link previews and scanners fetch it);
 * POST (form `answer=confirm|help`) records the answer, channel `link`, once per token and answer.
 */
@ApiExcludeController()
@Public()
@Controller('c')
export class ConfirmLinkController {
  constructor(
    @InjectDataSource(ANSWERS_DB) private readonly db: DataSource,
    private readonly renderer: MessageRenderer,
    private readonly inbound: InboundEvents,
    private readonly spool: InboundSpool,
  ) {}

  @Get(':token')
  async show(@Param('token') token: string, @Res() res: Response): Promise<void> {
    const link = await this.resolve(token);
    if (!link.ok) return this.problem(res, link.reason);
    this.html(res, 200, confirmPage(link.view));
  }

  @Post(':token')
  async answer(
    @Param('token') token: string,
    @Body() body: Record<string, unknown> | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const receivedAt = new Date();
    const signed = this.verify(token);
    if (!signed.ok) return this.problem(res, signed.reason);
    const raw = body?.answer;
    const answer = raw === 'confirm' || raw === 'help' ? raw : undefined;
    // Postgres unreachable: a valid answer is kept in the inbound spool (see InboundSpool) and the
    // page says it was received; an invalid one cannot show the warning again (503).
    const page = await this.spool.recordOrKeep(
      async (): Promise<{ status: number; html: string }> => {
        const link = await this.resolve(token);
        if (!link.ok) return this.problemPage(link.reason);
        if (!answer) {
          return {
            status: 400,
            html: confirmPage(link.view, {
              zh: '请选择“确认收到”或“请求支援”。',
              en: 'Choose “Confirm receipt” or “Request help”.',
            }),
          };
        }
        const result = await this.inbound.link({
          type: 'link',
          deliveryId: link.deliveryId,
          canonical: link.canonical,
          answer,
        });
        const after = (await this.view(link.deliveryId)) ?? link.view;
        return { status: 200, html: resultPage(after, answer, result) };
      },
      answer && {
        type: 'link',
        deliveryId: signed.deliveryId,
        canonical: signed.canonical,
        answer,
      },
      receivedAt,
      () => ({ status: 200, html: receivedPage(answer ?? 'confirm') }),
    );
    this.html(res, page.status, page.html);
  }

  /** The token's signature and expiry (no database): the delivery and the canonical token. */
  private verify(
    token: string,
  ):
    | { ok: true; deliveryId: string; canonical: string }
    | { ok: false; reason: 'expired' | 'invalid' } {
    if (!token || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'invalid' };
    const signer = this.renderer.linkSigner;
    const v = signer.verify(token);
    if (!v.ok) return { ok: false, reason: v.reason === 'expired' ? 'expired' : 'invalid' };
    // base64url decoding tolerates variants of one token: dedupe on the form the signer makes.
    return {
      ok: true,
      deliveryId: v.deliveryId,
      canonical: signer.sign(v.deliveryId, v.expiresAt),
    };
  }

  private async resolve(
    token: string,
  ): Promise<
    | { ok: true; deliveryId: string; canonical: string; view: LinkView }
    | { ok: false; reason: 'expired' | 'invalid' }
  > {
    const v = this.verify(token);
    if (!v.ok) return v;
    const view = await this.view(v.deliveryId);
    if (!view) return { ok: false, reason: 'invalid' };
    return { ...v, view };
  }

  private async view(deliveryId: string): Promise<LinkView | undefined> {
    const [row] = await this.db.query(
      `SELECT d.state, d.confirmed_at AS "answeredAt", p.name AS "personName", w.state AS "warningState",
              v.level, v.content
         FROM deliveries d JOIN people p ON p.id = d.person_id JOIN warnings w ON w.id = d.warning_id
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
        WHERE d.id = $1`,
      [deliveryId],
    );
    return row ? { ...row, content: reviveContent(row.content) } : undefined;
  }

  private problem(res: Response, reason: 'expired' | 'invalid'): void {
    const page = this.problemPage(reason);
    this.html(res, page.status, page.html);
  }

  private problemPage(reason: 'expired' | 'invalid'): { status: number; html: string } {
    return { status: reason === 'expired' ? 410 : 404, html: linkProblemPage(reason) };
  }

  private html(res: Response, status: number, html: string): void {
    res
      .status(status)
      .set({ 'Cache-Control': 'no-store', 'X-Robots-Tag': 'noindex, nofollow' })
      .type('html')
      .send(html);
  }
}
