import { Body, Controller, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiOkResponse,
  ApiParam,
  ApiQuery,
  ApiTags,
  ApiOperation,
} from '@nestjs/swagger';
import { ApiErrors, ApiTokenErrors } from '../../../common/http/api-docs';
import { ImportResultView } from '../directory.responses';
import { AppException } from '../../../common/errors/app.exception';
import { CurrentPrincipal, type Principal, Roles } from '../../../common/auth/auth.decorators';
import { formatOfContentType } from './import-parser';
import { ImportService } from './import.service';
import { IMPORT_KINDS, type ImportResult, isImportKind } from './import.types';

/** Roster uploads: the body is the file itself (CSV with a header row, or JSON lines). */
@ApiTags('directory')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1/directory/imports')
export class ImportController {
  constructor(private readonly imports: ImportService) {}

  @Post(':kind')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: 'Import a roster file (divisions, grids, people, contacts, hazard points, …)',
    description:
      'The body is the file: CSV with a header row, or JSON lines. A file with any bad row is ' +
      'refused whole (422, each bad row and field named); importing the same file again changes ' +
      'nothing.',
  })
  @ApiParam({ name: 'kind', enum: IMPORT_KINDS })
  @ApiQuery({
    name: 'format',
    enum: ['csv', 'jsonl'],
    required: false,
    description: 'Overrides the Content-Type (text/plain is read as CSV)',
  })
  @ApiConsumes('text/csv', 'application/x-ndjson')
  @ApiBody({
    schema: { type: 'string' },
    description: 'The file: CSV with a header row, or one JSON object per line',
  })
  @ApiOkResponse({ type: ImportResultView, description: 'written (or unchanged)' })
  @ApiErrors(400, 413, 415, 422)
  async import(
    @Param('kind') kind: string,
    @Headers('content-type') contentType: string | undefined,
    @Query('format') formatParam: string | undefined,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal | undefined,
  ): Promise<ImportResult> {
    if (!isImportKind(kind)) {
      throw AppException.validation([
        {
          field: 'kind',
          message: `unknown import kind "${kind}"; one of ${IMPORT_KINDS.join(', ')}`,
        },
      ]);
    }
    if (formatParam !== undefined && formatParam !== 'csv' && formatParam !== 'jsonl') {
      throw AppException.validation([{ field: 'format', message: 'format is csv or jsonl' }]);
    }
    const format = formatParam ?? formatOfContentType(contentType);
    if (!format) {
      throw AppException.validation([
        { field: 'content-type', message: 'send the file as text/csv or application/x-ndjson' },
      ]);
    }
    if (typeof body !== 'string') {
      throw AppException.validation([
        { field: 'body', message: 'the body must be the file as text' },
      ]);
    }
    return this.imports.importText(kind, body, format, { actor: principal?.tokenId });
  }
}
