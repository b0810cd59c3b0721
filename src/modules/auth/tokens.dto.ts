import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { TOKEN_ROLES, type TokenRole } from '../../common/auth/token-role';

export class CreateTokenDto {
  @ApiProperty({ example: '县值班室 county duty office' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ enum: TOKEN_ROLES })
  @IsIn(TOKEN_ROLES)
  role: TokenRole;

  @ApiPropertyOptional({ description: 'duty_officer: division code prefix', example: '513221' })
  @IsOptional()
  @Matches(/^\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?$/, {
    message: 'jurisdiction must be a division code',
  })
  jurisdiction?: string;

  @ApiPropertyOptional({ description: 'grid_member: grid code' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  grid?: string;
}

export class TokenView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '县值班室 county duty office' }) name: string;
  @ApiProperty({ enum: TOKEN_ROLES }) role: TokenRole;
  @ApiPropertyOptional({ nullable: true, type: String }) jurisdiction: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) grid: string | null;
  @ApiProperty() createdAt: Date;
  @ApiPropertyOptional({ nullable: true, type: Date }) revokedAt: Date | null;
  @ApiPropertyOptional({ nullable: true, type: Date }) lastUsedAt: Date | null;
}

export class CreatedTokenView extends TokenView {
  @ApiProperty({
    description: 'the token itself: shown in this response only, store it now',
    example: 'wgt_3q2Xo…',
  })
  token: string;
}
