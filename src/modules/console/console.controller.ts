import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Body, Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExcludeController,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { ApiDownload, ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import { CONSOLE_LABELS, type ConsoleLabels } from './console-labels';
import { ConsoleLabelsView } from './console.responses';
import { ConsolePreviewView } from '../warnings/message-preview.responses';
import type { Request, Response } from 'express';
import { AppException } from '../../common/errors/app.exception';
import { UuidPipe } from '../../common/http/params';
import { CurrentPrincipal, type Principal, Public, Roles } from '../../common/auth/auth.decorators';
import { CreateWarningDto } from '../warnings/dto/create-warning.dto';
import { WarningsService } from '../warnings/warnings.service';
import { BUNDLE_NAME, consoleScript } from './console-bundle';
import { ConsolePreviewService } from '../warnings/message-preview.service';
import { ConsoleStreamService } from './console-stream.service';

/** The static files of the page: next to this file in src, or under src when running from dist. */
function webDir(): string {
  const candidates = [
    join(__dirname, 'web'),
    join(process.cwd(), 'src', 'modules', 'console', 'web'),
  ];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0];
}

/** URL name → [file, type] of the static files; the script is the bundle (console-bundle.ts). */
const ASSETS: Record<string, [string, string]> = {
  'console.css': ['console.css', 'text/css; charset=utf-8'],
};
const SCRIPT_TYPE = 'application/javascript; charset=utf-8';

/** The page and its assets; no data, so public. Everything else goes through the API with a token. */
@ApiExcludeController()
@Controller('console')
export class ConsolePageController {
  private readonly dir = webDir();
  private readonly cache = new Map<string, string>();

  private read(name: string): string {
    let body = this.cache.get(name);
    if (body === undefined) {
      body = readFileSync(join(this.dir, name), 'utf8');
      if (process.env.NODE_ENV === 'production') this.cache.set(name, body);
    }
    return body;
  }

  @Get()
  @Public()
  page(@Res() res: Response) {
    res
      .type('text/html; charset=utf-8')
      .set('Cache-Control', 'no-cache')
      .send(this.read('index.html'));
  }

  /** The bundled script: built once per process (or read from the build's output). */
  private script?: Promise<string>;

  @Get('assets/:file')
  @Public()
  async asset(@Param('file') file: string, @Res() res: Response) {
    if (file === BUNDLE_NAME) {
      this.script ??= consoleScript(__dirname);
      let body: string;
      try {
        body = await this.script;
      } catch (err) {
        this.script = undefined;
        throw err;
      }
      res.type(SCRIPT_TYPE).set('Cache-Control', 'no-cache').send(body);
      return;
    }
    const asset = ASSETS[file];
    if (!asset) throw AppException.notFound('文件 file', file);
    res.type(asset[1]).set('Cache-Control', 'no-cache').send(this.read(asset[0]));
  }
}

@ApiTags('console')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1/console')
export class ConsoleApiController {
  constructor(
    private readonly preview: ConsolePreviewService,
    private readonly streams: ConsoleStreamService,
    private readonly warnings: WarningsService,
  ) {}

  /** Each channel's message for a draft warning (validated as POST /v1/warnings); creates nothing. */
  @Post('preview')
  @HttpCode(200)
  @Roles('duty_officer')
  @ApiOperation({
    summary: "Preview each channel's message for a draft warning",
    description: 'Validated as POST /v1/warnings; creates and sends nothing.',
  })
  @ApiOkResponse({ type: ConsolePreviewView })
  @ApiErrors(400, 413)
  async previewDraft(@Body() dto: CreateWarningDto, @CurrentPrincipal() principal: Principal) {
    return this.preview.preview(principal, dto);
  }

  /**
   * Server-sent events: the warning's summary on connect, then pushed whenever it changes
   * (Postgres LISTEN/NOTIFY, debounced; ConsoleStreamService). EventSource cannot set headers, so the
   * token may come as ?token= (ConsoleModule's middleware moves it into Authorization before the
   * global guard checks it). The token is checked again while the stream is open: once revoked
   * or changed, the stream sends `event: end` and closes.
   */
  @Get('warnings/:id/stream')
  @Roles('duty_officer', 'auditor')
  @ApiOperation({
    summary: 'Live summary of a warning (server-sent events)',
    description:
      "The warning's full summary on connect, then again whenever it changes (at most every " +
      '0.5 s; at least every 30 s), as `text/event-stream`. EventSource cannot set headers: ' +
      'the token may come as `?token=`. Ends (`event: end`) once the token is revoked or changed.',
  })
  @ApiQuery({ name: 'token', required: false, description: 'the bearer token, for EventSource' })
  @ApiDownload('text/event-stream', 'server-sent events', false)
  @ApiErrors(400, 404)
  async stream(
    @Param('id', UuidPipe) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    await this.warnings.findVisible(principal, id);
    res.status(200);
    res.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 3000\n\n');
    req.socket.setTimeout(0);
    this.streams.subscribe(id, res, principal);
  }
}

/**
 * The names of the coded values the console shows (states, roles, channels, levels, hazards,
 * task types …) in Chinese and English, from the server's own tables: the page keeps no copy.
 * Public: names only, no data, and the page needs them before a token is pasted.
 */
@ApiTags('console')
@Controller('v1/console')
export class ConsoleLabelsController {
  @Get('labels')
  @Public()
  @ApiOperation({
    summary: 'Names of the coded values the console shows, in Chinese and English',
    description:
      'Chain states, roles, channels, warning states and statuses, kinds, levels, hazards, task ' +
      'types, outcomes and statuses, escalation reasons and report groupings; each `{ zh, en }` ' +
      'maps a code to its name. The Chinese names are the ones the exports use.',
  })
  @ApiOkResponse({ type: ConsoleLabelsView })
  @ApiErrors(429)
  labels(): ConsoleLabels {
    return CONSOLE_LABELS;
  }
}
