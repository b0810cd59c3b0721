import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { UuidPipe } from '../../common/http/params';
import type { ApiToken } from './api-token.entity';
import { CurrentPrincipal, type Principal, Roles } from './auth.decorators';
import { CreateTokenDto, type TokenView } from './tokens.dto';
import { TokensService } from './tokens.service';

function view(t: ApiToken): TokenView {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    jurisdiction: t.jurisdiction,
    grid: t.gridCode,
    createdAt: t.createdAt,
    revokedAt: t.revokedAt,
    lastUsedAt: t.lastUsedAt,
  };
}

@ApiTags('tokens')
@ApiBearerAuth()
@Roles('admin')
@Controller('v1/tokens')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Get()
  async list(): Promise<TokenView[]> {
    return (await this.tokens.list()).map(view);
  }

  /** The clear token is in this response only. */
  @Post()
  async create(
    @Body() dto: CreateTokenDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TokenView & { token: string }> {
    const { token, record } = await this.tokens.create(
      {
        name: dto.name,
        role: dto.role,
        jurisdiction: dto.jurisdiction,
        gridCode: dto.grid,
      },
      principal.tokenId,
    );
    return { ...view(record), token };
  }

  @Post(':id/revoke')
  @HttpCode(200)
  async revoke(
    @Param('id', UuidPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TokenView> {
    return view(await this.tokens.revoke(id, principal.tokenId));
  }
}
