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

  static notFound(what: string, id: string): AppException {
    return new AppException(ErrorCode.NotFound, `未找到${what}：${id}`, `${what} not found: ${id}`);
  }
}
