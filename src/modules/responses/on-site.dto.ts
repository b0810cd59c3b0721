import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export const ON_SITE_KINDS = ['confirm', 'help'] as const;
export type OnSiteKind = (typeof ON_SITE_KINDS)[number];

export class OnSiteConfirmDto {
  @ApiProperty({ example: '已当面告知，本人确认收到', maxLength: 500 })
  @IsString()
  @Matches(/\S/, { message: 'reason must not be empty' })
  @MaxLength(500)
  reason: string;

  @ApiPropertyOptional({
    enum: ON_SITE_KINDS,
    default: 'confirm',
    description: 'confirm 确认收到 (default), help 需要支援',
  })
  @IsOptional()
  @IsIn(ON_SITE_KINDS)
  kind?: OnSiteKind;
}
