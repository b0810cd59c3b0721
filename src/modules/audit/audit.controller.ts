import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { MAX_OFFSET } from '../../common/http/params';
import { Roles } from '../auth/auth.decorators';
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

@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** Recomputes the hash chain; names the first event whose hash or link does not hold. */
  @Get('verify')
  verify(): Promise<VerifyResult> {
    return this.audit.verify();
  }

  @Get('events')
  events(@Query() q: AuditEventsQueryDto) {
    return this.audit.list({
      warningId: q.warningId,
      limit: q.limit ?? 100,
      offset: q.offset ?? 0,
    });
  }
}
