import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
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
};

/** Renders every error as `{ error: { code, message, messageEn, ...details } }`. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    if (exception instanceof AppException) {
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
      const message =
        typeof body === 'string'
          ? body
          : ((body as { message?: unknown }).message ?? exception.message);
      res.status(status).json({
        error: { code: HttpStatus[status] ?? 'HTTP_ERROR', message, messageEn: message },
      });
      return;
    }
    this.logger.error({ err: exception, path: req.path }, 'Unhandled error');
    res.status(HttpStatus.INTERNAL_SERVER_ERROR).json({
      error: { code: 'INTERNAL', message: '服务器内部错误', messageEn: 'Internal server error' },
    });
  }
}
