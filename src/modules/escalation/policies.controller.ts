import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { UuidPipe } from '../../common/http/params';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { CurrentPrincipal, type Principal, Roles } from '../auth/auth.decorators';
import { PolicyDto } from './policies.dto';
import { PoliciesRepository } from './policies.repository';

/** Escalation policies: chosen by warning kind, level, status and recipient role. */
@ApiTags('escalation policies')
@ApiBearerAuth()
@Controller('v1/escalation-policies')
export class PoliciesController {
  constructor(private readonly policies: PoliciesRepository) {}

  @Get()
  @Roles('admin', 'duty_officer', 'auditor')
  list() {
    return this.policies.all(true);
  }

  @Post()
  @Roles('admin')
  async create(@Body() dto: PolicyDto, @CurrentPrincipal() principal: Principal) {
    return this.unique(() => this.policies.save(dto, undefined, principal.tokenId));
  }

  @Put(':id')
  @Roles('admin')
  async update(
    @Param('id', UuidPipe) id: string,
    @Body() dto: PolicyDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    const saved = await this.unique(() => this.policies.save(dto, id, principal.tokenId));
    if (!saved) throw AppException.notFound('策略 policy', id);
    return saved;
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles('admin')
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
