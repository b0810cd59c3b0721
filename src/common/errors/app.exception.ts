/**
 * Every error the gateway reports on purpose carries a stable string code, a Chinese message for
 * people, an English one, and optional details (e.g. the fields or rows that were wrong). The
 * HTTP status for each code is decided in one place: http-exception.filter.ts.
 */
export enum ErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  ImportRejected = 'IMPORT_REJECTED',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  OutsideJurisdiction = 'OUTSIDE_JURISDICTION',
  IdempotencyConflict = 'IDEMPOTENCY_CONFLICT',
  InvalidSignature = 'INVALID_SIGNATURE',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  RateLimited = 'RATE_LIMITED',
  Unavailable = 'SERVICE_UNAVAILABLE',
}

export interface FieldProblem {
  field: string;
  message: string;
  /** 1-based row number for import reports. */
  row?: number;
}

export class AppException extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly messageZh: string,
    readonly messageEn: string,
    readonly details?: { fields?: FieldProblem[]; [key: string]: unknown },
  ) {
    super(messageEn);
  }

  static validation(fields: FieldProblem[]): AppException {
    const names = [...new Set(fields.map((f) => f.field))].join(', ');
    return new AppException(
      ErrorCode.ValidationFailed,
      `请求参数无效：${names}`,
      `Invalid request: ${names}`,
      { fields },
    );
  }

  /** A body larger than the route accepts (413), answered before it is read. */
  static payloadTooLarge(limitBytes: number): AppException {
    return new AppException(
      ErrorCode.PayloadTooLarge,
      `请求体过大，此接口最多接受 ${limitBytes} 字节`,
      `Request body too large: this route accepts at most ${limitBytes} bytes`,
      { fields: [{ field: 'body', message: `at most ${limitBytes} bytes` }], limit: limitBytes },
    );
  }

  /** A body of a type the route does not read (415), naming the Content-Type. */
  static unsupportedMediaType(type: string, accepted: string): AppException {
    return new AppException(
      ErrorCode.UnsupportedMediaType,
      `不支持的内容类型：${type}，此接口只接受 ${accepted}`,
      `Unsupported content type ${type}: this route accepts ${accepted}`,
      { fields: [{ field: 'content-type', message: `must be ${accepted}` }] },
    );
  }

  /** Too many requests from one client (429); `retryAfter` in seconds, also sent as Retry-After. */
  static rateLimited(retryAfterSeconds: number): AppException {
    return new AppException(
      ErrorCode.RateLimited,
      `请求过于频繁，请 ${retryAfterSeconds} 秒后再试`,
      `Too many requests: retry after ${retryAfterSeconds} s`,
      { retryAfter: retryAfterSeconds },
    );
  }

  /** The database cannot be reached (503); `retryAfter` in seconds, also sent as Retry-After. */
  static unavailable(retryAfterSeconds: number): AppException {
    return new AppException(
      ErrorCode.Unavailable,
      `服务暂时不可用（数据库无法连接），请 ${retryAfterSeconds} 秒后重试`,
      `Service unavailable (the database cannot be reached): retry after ${retryAfterSeconds} s`,
      { retryAfter: retryAfterSeconds },
    );
  }

  /** This process has as much of this kind of work in hand as it takes (503, load shed). */
  static overloaded(retryAfterSeconds: number): AppException {
    return new AppException(
      ErrorCode.Unavailable,
      `服务繁忙，请 ${retryAfterSeconds} 秒后重试`,
      `Overloaded: retry after ${retryAfterSeconds} s`,
      { retryAfter: retryAfterSeconds },
    );
  }

  static notFound(what: string, id: string): AppException {
    return new AppException(ErrorCode.NotFound, `未找到${what}：${id}`, `${what} not found: ${id}`);
  }
}
