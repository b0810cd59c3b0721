import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { ApiPagedResponse, ApiTokenErrors } from '../../common/http/api-docs';
import { AuditEventView, AuditVerifyView } from './audit.responses';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsUUID, Matches, Max, Min, ValidateIf } from 'class-validator';
import { MAX_OFFSET } from '../../common/http/params';
import { Roles } from '../../common/auth/auth.decorators';
import { AuditService, type VerifyResult } from './audit.service';

export class AuditEventsQueryDto {
  @ApiPropertyOptional({ description: 'only the events of this warning' })
  @IsOptional()
  @IsUUID()
  warningId?: string;

  @ApiPropertyOptional({ default: 100, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ default: 0, maximum: MAX_OFFSET })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_OFFSET)
  offset?: number;
}

export class AuditVerifyQueryDto {
  @ApiPropertyOptional({
    description: 'a checkpoint published earlier: its block number (with `head`)',
  })
  @ValidateIf((q: AuditVerifyQueryDto) => q.block !== undefined || q.head !== undefined)
  @Type(() => Number)
  @IsInt()
  @Min(1)
  block?: number;

  @ApiPropertyOptional({ description: "the published checkpoint's head (64 hex digits)" })
  @ValidateIf((q: AuditVerifyQueryDto) => q.block !== undefined || q.head !== undefined)
  @Matches(/^[0-9a-f]{64}$/)
  head?: string;
}

@ApiTags('audit')
@ApiBearerAuth()
@ApiTokenErrors(400)
@Roles('auditor')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /**
   * Seals what is certainly committed, then checks every block, its events and the signed
   * checkpoint (and a published one, given as `block` and `head`); reports the unsealed tail.
   * Names the first event or block that does not hold.
   */
  @Get('verify')
  @ApiOperation({
    summary: 'Verify the sealed audit log',
    description:
      'Seals what is certainly committed, then checks every block, its events and the signed ' +
      'checkpoint (and a published one: `block` and `head`); reports the unsealed tail and names ' +
      'the first event or block that does not hold.',
  })
  @ApiOkResponse({ type: AuditVerifyView })
  verify(@Query() q: AuditVerifyQueryDto): Promise<VerifyResult> {
    return this.audit.verify(
      q.block !== undefined && q.head !== undefined
        ? { published: { block: q.block, head: q.head } }
        : {},
    );
  }

  @Get('events')
  @ApiOperation({
    summary: 'List audit events, oldest first (paged)',
    description: 'Optionally of one warning.',
  })
  @ApiPagedResponse(AuditEventView, 'A page of audit events')
  events(@Query() q: AuditEventsQueryDto) {
    return this.audit.list({
      warningId: q.warningId,
      limit: q.limit ?? 100,
      offset: q.offset ?? 0,
    });
  }
}
