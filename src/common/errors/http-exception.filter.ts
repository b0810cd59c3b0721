import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { TwilioWebhookError } from '../../channels/twilio/twilio-webhook';
import { AppException, ErrorCode } from './app.exception';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  [ErrorCode.ValidationFailed]: HttpStatus.BAD_REQUEST,
  [ErrorCode.ImportRejected]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.Conflict]: HttpStatus.CONFLICT,
  [ErrorCode.Unauthenticated]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [ErrorCode.OutsideJurisdiction]: HttpStatus.FORBIDDEN,
  [ErrorCode.IdempotencyConflict]: HttpStatus.CONFLICT,
  [ErrorCode.InvalidSignature]: HttpStatus.FORBIDDEN,
  [ErrorCode.PayloadTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.UnsupportedMediaType]: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  [ErrorCode.RateLimited]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.Unavailable]: HttpStatus.SERVICE_UNAVAILABLE,
};

/**
 * Postgres SQLSTATEs that say the database is not there (shut down, starting, connection lost or
 * refused, too many connections, not accepting connections), and socket errors of the driver.
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
  '55000',
]);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|is not currently accepting connections|the database system is (shutting down|starting up)/i;

/** Seconds a client is asked to wait when the database is unavailable. */
const UNAVAILABLE_RETRY_AFTER = 5;

/**
 * A database that cannot be reached is a 503 with Retry-After, not a 500: providers retry their
 * webhooks on it, and clients know to try again.
 */
export function unavailableOf(err: unknown): AppException | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; message?: unknown; driverError?: unknown };
  const inner = (e.driverError ?? {}) as { code?: unknown; message?: unknown };
  const codes = [e.code, inner.code].filter((c): c is string => typeof c === 'string');
  const messages = [e.message, inner.message].filter((m): m is string => typeof m === 'string');
  const down =
    codes.some((c) => UNAVAILABLE_SQLSTATES.has(c) || UNAVAILABLE_ERRNOS.has(c)) ||
    messages.some((m) => UNAVAILABLE_MESSAGES.test(m));
  return down ? AppException.unavailable(UNAVAILABLE_RETRY_AFTER) : undefined;
}

/** Chinese messages for the framework's own HTTP errors (unknown route, bad path encoding…). */
const ZH_BY_STATUS: Record<number, string> = {
  400: '请求无效',
  401: '需要访问令牌',
  403: '无权执行此操作',
  404: '未找到',
  405: '不支持的请求方法',
  406: '无法提供所请求的格式',
  408: '请求超时',
  409: '冲突',
  413: '请求体过大',
  415: '不支持的内容类型',
  422: '无法处理的请求',
  429: '请求过于频繁',
};

/**
 * A Twilio webhook body without a parameter it needs (`missing CallSid`) or with an unknown
 * value (`unknown CallStatus: x`), as the parsers of channels/twilio/twilio-webhook.ts say it:
 * bad input (400 naming the parameter), not a fault of ours.
 */
export function twilioWebhookProblem(err: TwilioWebhookError): AppException {
  const field = /^(?:missing|unknown) ([A-Za-z]+)/.exec(err.message)?.[1] ?? 'body';
  return AppException.validation([{ field, message: err.message }]);
}

/**
 * Errors of the body parser and other Express middleware (http-errors: a 4xx `status` and an
 * `expose` flag) as the gateway's own: never a 500 for a body the client got wrong.
 */
export function clientErrorOf(err: unknown): AppException | undefined {
  if (!err || typeof err !== 'object' || err instanceof HttpException) return undefined;
  const e = err as {
    status?: unknown;
    statusCode?: unknown;
    expose?: unknown;
    type?: unknown;
    message?: unknown;
  };
  // http-errors mark the errors meant for the client; a provider's 4xx inside a handler is ours.
  if (e.expose !== true) return undefined;
  const status = Number(e.status ?? e.statusCode);
  if (!Number.isInteger(status) || status < 400 || status > 499) return undefined;
  const type = typeof e.type === 'string' ? e.type : '';
  const message = typeof e.message === 'string' ? e.message : 'bad request';
  if (status === 413) {
    const limit = Number((err as { limit?: unknown }).limit);
    return AppException.payloadTooLarge(Number.isFinite(limit) ? limit : 0);
  }
  if (status === 415) {
    return new AppException(
      ErrorCode.UnsupportedMediaType,
      `不支持的内容类型或编码：${message}`,
      `Unsupported content type or encoding: ${message}`,
      { fields: [{ field: 'content-type', message }] },
    );
  }
  const what =
    type === 'entity.parse.failed'
      ? `body is not valid: ${message}`
      : `${type || 'body'}: ${message}`;
  return AppException.validation([{ field: 'body', message: what }]);
}

/** Renders every error as `{ error: { code, message, messageEn, ...details } }`. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    if (res.headersSent) {
      // A streamed answer that failed half-way: nothing can be said any more but the end.
      this.logger.error({ err: exception, path: req.path }, 'Error after the response began');
      res.end();
      return;
    }
    if (exception instanceof TwilioWebhookError) exception = twilioWebhookProblem(exception);
    const unavailable = unavailableOf(exception);
    if (unavailable) {
      this.logger.warn({ err: exception, path: req.path }, 'database unavailable: answered 503');
    }
    exception = clientErrorOf(exception) ?? unavailable ?? exception;
    if (exception instanceof AppException) {
      if (exception.code === ErrorCode.RateLimited || exception.code === ErrorCode.Unavailable) {
        res.setHeader('Retry-After', String(exception.details?.retryAfter ?? 1));
      }
      res.status(STATUS_BY_CODE[exception.code]).json({
        error: {
          code: exception.code,
          message: exception.messageZh,
          messageEn: exception.messageEn,
          ...exception.details,
        },
      });
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const raw =
        typeof body === 'string'
          ? body
          : ((body as { message?: unknown }).message ?? exception.message);
      const messageEn = Array.isArray(raw) ? raw.join('; ') : String(raw);
      // Express could not decode a path segment (`%E0`, a lone surrogate): the path is the field.
      const fields = /^Failed to decode param/.test(messageEn)
        ? [{ field: 'path', message: messageEn }]
        : undefined;
      // /health's 503 (Terminus) keeps what each part said: which part is down, and what is
      // still known (queue backlogs, answers waiting in the inbound spool).
      const details =
        status === HttpStatus.SERVICE_UNAVAILABLE && typeof body === 'object' && body
          ? (body as { details?: unknown }).details
          : undefined;
      res.status(status).json({
        error: {
          code: HttpStatus[status] ?? 'HTTP_ERROR',
          message: ZH_BY_STATUS[status] ?? '请求失败',
          messageEn,
          ...(fields ? { fields } : {}),
        },
        ...(details ? { details } : {}),
      });
      return;
    }
    this.logger.error({ err: exception, path: req.path }, 'Unhandled error');
    res.status(HttpStatus.INTERNAL_SERVER_ERROR).json({
      error: { code: 'INTERNAL', message: '服务器内部错误', messageEn: 'Internal server error' },
    });
  }
}
