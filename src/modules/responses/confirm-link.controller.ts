import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { ANSWERS_DB } from '../../database/data-source';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators';
import { MessageRenderer } from '../dispatch/message-renderer';
import { reviveContent } from '../warnings/warnings.repository';
import { AnswersService } from './answers.service';
import { confirmPage, linkProblemPage, type LinkView, resultPage } from './confirm-pages';

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
    private readonly answers: AnswersService,
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
    const link = await this.resolve(token);
    if (!link.ok) return this.problem(res, link.reason);
    const answer = body?.answer;
    if (answer !== 'confirm' && answer !== 'help') {
      this.html(
        res,
        400,
        confirmPage(link.view, {
          zh: '请选择“确认收到”或“请求支援”。',
          en: 'Choose “Confirm receipt” or “Request help”.',
        }),
      );
      return;
    }
    const result = await this.answers.record({
      deliveryId: link.deliveryId,
      kind: answer,
      channel: 'link',
      raw: answer,
      dedupeKey: `link:${link.canonical}:${answer}`,
    });
    const after = (await this.view(link.deliveryId)) ?? link.view;
    this.html(res, 200, resultPage(after, answer, result));
  }

  private async resolve(
    token: string,
  ): Promise<
    | { ok: true; deliveryId: string; canonical: string; view: LinkView }
    | { ok: false; reason: 'expired' | 'invalid' }
  > {
    if (!token || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'invalid' };
    const signer = this.renderer.linkSigner;
    const v = signer.verify(token);
    if (!v.ok) return { ok: false, reason: v.reason === 'expired' ? 'expired' : 'invalid' };
    const view = await this.view(v.deliveryId);
    if (!view) return { ok: false, reason: 'invalid' };
    // base64url decoding tolerates variants of one token: dedupe on the form the signer makes.
    const canonical = signer.sign(v.deliveryId, v.expiresAt);
    return { ok: true, deliveryId: v.deliveryId, canonical, view };
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
    this.html(res, reason === 'expired' ? 410 : 404, linkProblemPage(reason));
  }

  private html(res: Response, status: number, html: string): void {
    res
      .status(status)
      .set({ 'Cache-Control': 'no-store', 'X-Robots-Tag': 'noindex, nofollow' })
      .type('html')
      .send(html);
  }
}
