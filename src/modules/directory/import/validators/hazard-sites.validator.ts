import type { HazardSiteType } from '../../../../common/domain/directory.types';
import {
  HAZARD_NAMES_ZH,
  HAZARD_TYPES,
  type HazardType,
} from '../../../../common/domain/warning.types';
import type { HazardSiteRow } from '../import-rows';
import type { SourceFile } from '../import.types';
import type { DirectoryLookup } from './directory-lookup';
import { CODE, DIVISION_CODE } from './patterns';
import { DuplicateKeys, Problems, RowReader, sample } from './row-reader';
import type { ColumnSpec, Validated } from './validator';

export const HAZARD_SITE_COLUMNS: ColumnSpec = {
  required: ['code', 'name', 'hazard', 'division'],
  optional: [
    'latitude',
    'longitude',
    'threatened_people',
    'threatened_households',
    'grids',
    'threatened',
    'responsible',
  ],
};

const HAZARD_ALIASES: Partial<Record<string, HazardType>> = Object.fromEntries(
  HAZARD_TYPES.map((type) => [HAZARD_NAMES_ZH[type], type]),
);

const TYPE_NAMES_ZH: Record<HazardSiteType, string> = {
  hazard_point: '隐患点',
  risk_zone: '风险区',
};

/**
 * Hazard points or risk zones (one type per file). Grids and people in the link lists must exist;
 * a code already used by a site of the other type is refused.
 */
export function hazardSiteValidator(type: HazardSiteType) {
  return async function validateHazardSites(
    file: SourceFile,
    lookup: DirectoryLookup,
  ): Promise<Validated<HazardSiteRow>> {
    const problems = new Problems();
    const codes = new DuplicateKeys('code');
    const rows: HazardSiteRow[] = [];

    for (const source of file.rows) {
      const r = new RowReader(source, problems);
      const code = r.matching('code', CODE);
      const name = r.text('name', { required: true, max: 200 });
      const hazard = r.oneOf('hazard', HAZARD_TYPES, HAZARD_ALIASES);
      const divisionCode = r.matching('division', DIVISION_CODE);
      const latitude = r.decimal('latitude', -90, 90);
      const longitude = r.decimal('longitude', -180, 180);
      if ((r.raw('latitude') === null) !== (r.raw('longitude') === null)) {
        r.problem(
          r.raw('latitude') === null ? 'latitude' : 'longitude',
          '经纬度应同时填写或同时留空',
          'give both latitude and longitude, or neither',
        );
      }
      codes.check(r, code);
      rows.push({
        row: r.row,
        code,
        type,
        name,
        hazard: hazard || 'landslide',
        divisionCode,
        latitude,
        longitude,
        threatenedPeople: r.integer('threatened_people') ?? 0,
        threatenedHouseholds: r.integer('threatened_households') ?? 0,
        grids: r.list('grids'),
        threatened: r.list('threatened'),
        responsible: r.list('responsible'),
      });
    }

    const divisions = await lookup.divisions(rows.map((s) => s.divisionCode));
    const grids = await lookup.grids(rows.flatMap((s) => s.grids));
    const people = await lookup.people(rows.flatMap((s) => [...s.threatened, ...s.responsible]));
    const sites = await lookup.hazardSites(rows.map((s) => s.code));
    for (const s of rows) {
      const other = sites.get(s.code);
      if (other && other !== type) {
        problems.add(
          s.row,
          'code',
          `编号 ${s.code} 已被${TYPE_NAMES_ZH[other]}使用`,
          `code ${s.code} is already used by a ${other.replace('_', ' ')}`,
        );
      }
      if (s.divisionCode && !divisions.has(s.divisionCode)) {
        problems.add(
          s.row,
          'division',
          `区划 ${s.divisionCode} 不存在`,
          `division ${s.divisionCode} does not exist`,
        );
      }
      const missingGrids = s.grids.filter((g) => !grids.has(g));
      if (missingGrids.length) {
        problems.add(
          s.row,
          'grids',
          `网格不存在：${sample(missingGrids)}`,
          `no such grids: ${sample(missingGrids)}`,
        );
      }
      for (const field of ['threatened', 'responsible'] as const) {
        const missing = s[field].filter((id) => !people.has(id));
        if (missing.length) {
          problems.add(
            s.row,
            field,
            `人员不存在：${sample(missing)}`,
            `no such people: ${sample(missing)}`,
          );
        }
      }
    }
    return { rows, problems: problems.list };
  };
}
