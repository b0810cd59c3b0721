import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { CHAIN_STATES, GROUP_BYS, WARNING_STATUSES } from './reports.types';
import { DEFAULT_EXPORT_TIME_ZONE } from './xlsx';

/** The chain filters as query parameters (validated by parseChainFilters). */
export function ApiChainFilters(): MethodDecorator {
  return applyDecorators(
    ApiQuery({
      name: 'state',
      required: false,
      description: `comma-separated states among ${CHAIN_STATES.join(', ')}`,
      example: 'confirmed,declined',
    }),
    ApiQuery({
      name: 'division',
      required: false,
      description: 'division code prefix (2-12 digits)',
      example: '513221001',
    }),
    ApiQuery({ name: 'grid', required: false, description: 'grid code' }),
    ApiQuery({ name: 'role', required: false, description: 'person role, e.g. grid_leader' }),
  );
}

/** `headers` (both formats) and `tz` (workbooks). */
export function ApiExportQueries(spreadsheet: boolean): MethodDecorator {
  return applyDecorators(
    ApiQuery({
      name: 'headers',
      required: false,
      enum: ['en', 'zh'],
      description:
        'zh: Chinese headers and values (states, channels, roles, reasons, yes/no); default en',
    }),
    ...(spreadsheet
      ? [
          ApiQuery({
            name: 'tz',
            required: false,
            description: `IANA time zone of the date cells (default ${DEFAULT_EXPORT_TIME_ZONE})`,
            example: DEFAULT_EXPORT_TIME_ZONE,
          }),
        ]
      : []),
  );
}

export function ApiGroupByQuery(): MethodDecorator {
  return ApiQuery({
    name: 'groupBy',
    required: false,
    enum: GROUP_BYS,
    description: 'township 乡镇, village 村 (default), grid 网格, role 角色',
  });
}

export function ApiPeriodQueries(): MethodDecorator {
  return applyDecorators(
    ApiQuery({
      name: 'from',
      required: false,
      schema: { type: 'string', format: 'date-time' },
      description: 'warnings issued from (default: 30 days before `to`)',
    }),
    ApiQuery({
      name: 'to',
      required: false,
      schema: { type: 'string', format: 'date-time' },
      description: 'until, exclusive (default: now)',
    }),
    ApiQuery({
      name: 'status',
      required: false,
      enum: WARNING_STATUSES,
      description: 'actual 正式 (default), exercise 演练, test 测试: their figures are kept apart',
    }),
  );
}
