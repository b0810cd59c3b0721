import {
  CONTACT_KINDS,
  PERSON_ROLE_NAMES_ZH,
  PERSON_ROLES,
  type PersonRole,
} from '../../../../common/domain/directory.types';
import type { ContactValue, PersonRow } from '../import-rows';
import type { SourceFile } from '../import.types';
import { normaliseContact } from './contact-value';
import type { DirectoryLookup } from './directory-lookup';
import { DIVISION_CODE, EXTERNAL_ID, GRID_CODE } from './patterns';
import { DuplicateKeys, Problems, RowReader } from './row-reader';
import type { ColumnSpec, Validated } from './validator';

export const PEOPLE_COLUMNS: ColumnSpec = {
  required: ['id', 'name', 'role', 'division'],
  optional: ['grid', 'supervisor', 'title', ...CONTACT_KINDS, 'verified_at'],
};

export const ROLE_ALIASES: Partial<Record<string, PersonRole>> = Object.fromEntries(
  PERSON_ROLES.map((role) => [PERSON_ROLE_NAMES_ZH[role], role]),
);

/** True when a people file carries contact columns, and so replaces everyone's contact points. */
export function hasContactColumns(columns: ReadonlySet<string>): boolean {
  return CONTACT_KINDS.some((kind) => columns.has(kind));
}

/**
 * People by external id. The division must exist; a grid must exist and belong to that village;
 * a supervisor must be someone else, in the directory or anywhere in the same file.
 */
export async function validatePeople(
  file: SourceFile,
  lookup: DirectoryLookup,
): Promise<Validated<PersonRow>> {
  const problems = new Problems();
  const ids = new DuplicateKeys('id');
  const rows: PersonRow[] = [];
  const contactKinds = CONTACT_KINDS.filter((kind) => file.columns.has(kind));

  for (const source of file.rows) {
    const r = new RowReader(source, problems);
    const externalId = r.matching('id', EXTERNAL_ID);
    const name = r.text('name', { required: true, max: 100 });
    const role = r.oneOf('role', PERSON_ROLES, ROLE_ALIASES);
    const divisionCode = r.matching('division', DIVISION_CODE);
    const gridCode = r.matching('grid', { ...GRID_CODE, required: false });
    const supervisor = r.matching('supervisor', { ...EXTERNAL_ID, required: false });
    const title = r.text('title', { max: 100 });
    const verifiedAt = r.date('verified_at');
    if (supervisor !== null && supervisor === externalId) {
      r.problem('supervisor', '上级不能是本人', 'a person cannot be their own supervisor');
    }

    const contacts: ContactValue[] = [];
    for (const kind of contactKinds) {
      for (const value of r.list(kind)) {
        const contact = normaliseContact(kind, value);
        if (!contact.ok) r.problem(kind, contact.message, contact.messageEn);
        else if (!contacts.some((c) => c.kind === kind && c.value === contact.value)) {
          contacts.push({ kind, value: contact.value });
        }
      }
    }
    ids.check(r, externalId);
    rows.push({
      row: r.row,
      externalId,
      name,
      role: role || 'resident',
      divisionCode,
      gridCode,
      supervisor,
      title,
      contacts,
      verifiedAt,
    });
  }

  const divisions = await lookup.divisions(rows.map((p) => p.divisionCode));
  const grids = await lookup.grids(rows.flatMap((p) => (p.gridCode ? [p.gridCode] : [])));
  const supervisors = await lookup.people(
    rows.flatMap((p) => (p.supervisor && !ids.has(p.supervisor) ? [p.supervisor] : [])),
  );
  for (const p of rows) {
    if (p.divisionCode && !divisions.has(p.divisionCode)) {
      problems.add(
        p.row,
        'division',
        `区划 ${p.divisionCode} 不存在`,
        `division ${p.divisionCode} does not exist`,
      );
    }
    if (p.gridCode) {
      const village = grids.get(p.gridCode);
      if (village === undefined) {
        problems.add(
          p.row,
          'grid',
          `网格 ${p.gridCode} 不存在`,
          `grid ${p.gridCode} does not exist`,
        );
      } else if (p.divisionCode && village !== p.divisionCode) {
        problems.add(
          p.row,
          'grid',
          `网格 ${p.gridCode} 属于村 ${village}，不属于 ${p.divisionCode}（有网格的人，division 应为网格所属的村）`,
          `grid ${p.gridCode} belongs to village ${village}, not to ${p.divisionCode} (with a grid, the division is the grid's village)`,
        );
      }
    }
    if (p.supervisor && !ids.has(p.supervisor) && !supervisors.has(p.supervisor)) {
      problems.add(
        p.row,
        'supervisor',
        `上级 ${p.supervisor} 不存在（库中和本文件中都没有）`,
        `supervisor ${p.supervisor} exists neither in the directory nor in this file`,
      );
    }
  }
  return { rows, problems: problems.list };
}
