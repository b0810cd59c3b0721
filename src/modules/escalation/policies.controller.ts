import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors, ApiTokenErrors } from '../../common/http/api-docs';
import { UuidPipe } from '../../common/http/params';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { PolicyDto, PolicyView } from './policies.dto';
import { PoliciesRepository } from './policies.repository';
import { toGroupConfirm } from '../chain/escalation-policy.types';

const policyOf = (dto: PolicyDto) => ({ ...dto, groupConfirm: toGroupConfirm(dto.groupConfirm) });

/** Escalation policies: chosen by warning kind, level, status and recipient role. */
@ApiTags('escalation policies')
@ApiBearerAuth()
@ApiTokenErrors()
@Controller('v1/escalation-policies')
export class PoliciesController {
  constructor(private readonly policies: PoliciesRepository) {}

  @Get()
  @Roles('admin', 'duty_officer', 'auditor')
  @ApiOperation({
    summary: 'List escalation policies (升级策略), by rank',
    description: 'The first matching policy (lowest rank) applies to a recipient.',
  })
  @ApiOkResponse({ type: [PolicyView] })
  list() {
    return this.policies.all(true);
  }

  @Post()
  @Roles('admin')
  @ApiOperation({
    summary: 'Create an escalation policy',
    description: 'Chosen by warning kind, level, status and recipient role; names are unique.',
  })
  @ApiCreatedResponse({ type: PolicyView })
  @ApiErrors(400, 413)
  async create(@Body() dto: PolicyDto, @CurrentPrincipal() principal: Principal) {
    return this.unique(() => this.policies.save(policyOf(dto), undefined, principal.tokenId));
  }

  @Put(':id')
  @Roles('admin')
  @ApiOperation({
    summary: 'Replace an escalation policy',
    description: 'Chains already running keep the steps they started with.',
  })
  @ApiOkResponse({ type: PolicyView })
  @ApiErrors(400, 404, 413)
  async update(
    @Param('id', UuidPipe) id: string,
    @Body() dto: PolicyDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    const saved = await this.unique(() => this.policies.save(policyOf(dto), id, principal.tokenId));
    if (!saved) throw AppException.notFound('策略 policy', id);
    return saved;
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({
    summary: 'Delete an escalation policy',
    description: 'A policy recorded chains used cannot be deleted (409): edit it instead.',
  })
  @ApiNoContentResponse({ description: 'deleted' })
  @ApiErrors(400, 404, 409)
  async remove(@Param('id', UuidPipe) id: string, @CurrentPrincipal() principal: Principal) {
    const result = await this.policies.remove(id, principal.tokenId);
    if (result === 'missing') throw AppException.notFound('策略 policy', id);
    if (result === 'in_use') {
      throw new AppException(
        ErrorCode.Conflict,
        '策略已被使用，不能删除，可修改',
        'Policy is in use by recorded chains; edit it instead',
      );
    }
  }

  private async unique<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw AppException.validation([
          { field: 'name', message: 'a policy with this name exists' },
        ]);
      }
      throw err;
    }
  }
}
