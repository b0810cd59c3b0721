import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import { UuidPipe } from '../../common/http/params';
import type { ApiToken } from './api-token.entity';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { CreatedTokenView, CreateTokenDto, TokenView } from './tokens.dto';
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
@ApiTokenErrors()
@Roles('admin')
@Controller('v1/tokens')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Get()
  @ApiOperation({ summary: 'List API tokens (never the tokens themselves)' })
  @ApiOkResponse({ type: [TokenView] })
  async list(): Promise<TokenView[]> {
    return (await this.tokens.list()).map(view);
  }

  /** The clear token is in this response only. */
  @Post()
  @ApiOperation({
    summary: 'Create an API token',
    description:
      'duty_officer needs a jurisdiction (division code prefix), grid_member a grid. The clear ' +
      'token is in this response only.',
  })
  @ApiCreatedResponse({ type: CreatedTokenView })
  @ApiErrors(400, 413)
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
  @ApiOperation({ summary: 'Revoke an API token', description: 'Takes effect at once.' })
  @ApiOkResponse({ type: TokenView })
  @ApiErrors(400, 404)
  async revoke(
    @Param('id', UuidPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TokenView> {
    return view(await this.tokens.revoke(id, principal.tokenId));
  }
}
