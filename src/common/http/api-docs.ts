import { applyDecorators, type Type } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiProduces,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';

/**
 * OpenAPI building blocks shared by every controller: the error body, the statuses a route can
 * answer with, paged envelopes and downloads. The build runs plain `tsc` (no Nest CLI Swagger
 * plugin), so everything a generated client needs is said here with decorators.
 */

export class ApiFieldProblem {
  @ApiProperty({ example: 'level', description: 'the field, parameter or header at fault' })
  field: string;

  @ApiProperty({ example: 'level must be one of red, orange, yellow, blue' })
  message: string;

  @ApiPropertyOptional({ description: 'imports: the 1-based row number', example: 3 })
  row?: number;
}

export class ApiErrorDetail {
  @ApiProperty({
    description:
      'Stable machine-readable code: VALIDATION_FAILED (400), UNAUTHENTICATED (401), FORBIDDEN / ' +
      'OUTSIDE_JURISDICTION / INVALID_SIGNATURE (403), NOT_FOUND (404), CONFLICT / ' +
      'IDEMPOTENCY_CONFLICT (409), PAYLOAD_TOO_LARGE (413), UNSUPPORTED_MEDIA_TYPE (415), ' +
      'IMPORT_REJECTED (422), RATE_LIMITED (429), SERVICE_UNAVAILABLE (503), INTERNAL (500); ' +
      "the framework's own errors carry the HTTP status name (e.g. NOT_FOUND for an unknown route)",
    example: 'VALIDATION_FAILED',
  })
  code: string;

  @ApiProperty({ description: 'for people, in Chinese', example: '请求参数无效：level' })
  message: string;

  @ApiProperty({ description: 'the same in English', example: 'Invalid request: level' })
  messageEn: string;

  @ApiPropertyOptional({
    type: [ApiFieldProblem],
    description: 'what was wrong, field by field (validation, jurisdiction, imports)',
  })
  fields?: ApiFieldProblem[];

  @ApiPropertyOptional({
    description: '429 and 503: seconds to wait (also sent as Retry-After)',
    example: 5,
  })
  retryAfter?: number;

  @ApiPropertyOptional({
    type: [ApiFieldProblem],
    description: 'imports (422): each problem of the file, with its row',
  })
  rows?: ApiFieldProblem[];

  @ApiPropertyOptional({ description: '413: the largest body the route accepts, in bytes' })
  limit?: number;
}

/** Every error the gateway answers: `{ error: { code, message, messageEn, fields? } }`. */
export class ApiErrorBody {
  @ApiProperty({ type: ApiErrorDetail })
  error: ApiErrorDetail;
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;

const ERROR_DOCS: Record<
  ErrorStatus,
  { description: string; code: string; zh: string; en: string }
> = {
  400: {
    description: 'Invalid parameters or body (VALIDATION_FAILED), naming each field',
    code: 'VALIDATION_FAILED',
    zh: '请求参数无效：limit',
    en: 'Invalid request: limit',
  },
  401: {
    description: 'No bearer token, or an invalid or revoked one (UNAUTHENTICATED)',
    code: 'UNAUTHENTICATED',
    zh: '需要访问令牌',
    en: 'A bearer token is required',
  },
  403: {
    description:
      "The token's role may not do this (FORBIDDEN), or the target lies outside its jurisdiction or grid (OUTSIDE_JURISDICTION)",
    code: 'FORBIDDEN',
    zh: '无权执行此操作',
    en: 'Role auditor may not do this',
  },
  404: {
    description: 'Not found, or not visible to this token (NOT_FOUND)',
    code: 'NOT_FOUND',
    zh: '未找到预警 warning：00000000-0000-4000-8000-000000000000',
    en: '预警 warning not found: 00000000-0000-4000-8000-000000000000',
  },
  409: {
    description: 'Conflicts with the current state (CONFLICT, IDEMPOTENCY_CONFLICT)',
    code: 'CONFLICT',
    zh: '冲突',
    en: 'Conflict',
  },
  413: {
    description:
      'Body larger than the route accepts (PAYLOAD_TOO_LARGE), refused before it is read',
    code: 'PAYLOAD_TOO_LARGE',
    zh: '请求体过大，此接口最多接受 102400 字节',
    en: 'Request body too large: this route accepts at most 102400 bytes',
  },
  415: {
    description: 'Unsupported content type or encoding (UNSUPPORTED_MEDIA_TYPE)',
    code: 'UNSUPPORTED_MEDIA_TYPE',
    zh: '不支持的内容类型或编码',
    en: 'Unsupported content type or encoding',
  },
  422: {
    description:
      'The file was refused whole (IMPORT_REJECTED); `rows` names each bad row and field',
    code: 'IMPORT_REJECTED',
    zh: '导入被拒绝',
    en: 'Import rejected',
  },
  429: {
    description: 'Too many failed authentications from this client (RATE_LIMITED); see Retry-After',
    code: 'RATE_LIMITED',
    zh: '请求过于频繁，请 60 秒后再试',
    en: 'Too many requests: retry after 60 s',
  },
  503: {
    description: 'The database cannot be reached (SERVICE_UNAVAILABLE); see Retry-After',
    code: 'SERVICE_UNAVAILABLE',
    zh: '服务暂时不可用（数据库无法连接），请 5 秒后重试',
    en: 'Service unavailable (the database cannot be reached): retry after 5 s',
  },
};

const RETRY_AFTER = {
  'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' as const } },
};

/** The error responses a route can give, each with the shared error body and an example. */
export function ApiErrors(...statuses: ErrorStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ApiErrorBody),
    ...[...new Set(statuses)].map((status) => {
      const d = ERROR_DOCS[status];
      return ApiResponse({
        status,
        description: d.description,
        content: {
          'application/json': {
            schema: { $ref: getSchemaPath(ApiErrorBody) },
            example: { error: { code: d.code, message: d.zh, messageEn: d.en } },
          },
        },
        ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      });
    }),
  );
}

/** What any route behind a bearer token can answer: 401, 403, 429, 503, plus the given ones. */
export function ApiTokenErrors(...more: ErrorStatus[]): MethodDecorator & ClassDecorator {
  return ApiErrors(401, 403, 429, 503, ...more);
}

/** A paged envelope `{ total, limit, offset, items: T[] }` of a given item type. */
export function ApiPagedResponse(item: Type<unknown>, description: string): MethodDecorator {
  return applyDecorators(
    ApiExtraModels(item),
    ApiOkResponse({
      description,
      schema: {
        type: 'object',
        required: ['total', 'limit', 'offset', 'items'],
        properties: {
          total: { type: 'integer', description: 'rows matching, over all pages', example: 5 },
          limit: { type: 'integer', example: 100 },
          offset: { type: 'integer', example: 0 },
          items: { type: 'array', items: { $ref: getSchemaPath(item) } },
        },
      },
    }),
  );
}

/** A file download (not JSON): its content type, disposition and a description. */
export function ApiDownload(
  contentType: string,
  description: string,
  attachment = true,
): MethodDecorator {
  return applyDecorators(
    ApiProduces(contentType),
    ApiOkResponse({
      description,
      content: { [contentType]: { schema: { type: 'string', format: 'binary' } } },
      ...(attachment
        ? {
            headers: {
              'Content-Disposition': {
                description: 'attachment; filename="…"',
                schema: { type: 'string' },
              },
            },
          }
        : {}),
    }),
  );
}
