import { CONTACT_KINDS } from '../../../../common/domain/directory.types';
import type { ContactRow } from '../import-rows';
import type { SourceFile } from '../import.types';
import { normaliseContact } from './contact-value';
import type { DirectoryLookup } from './directory-lookup';
import { EXTERNAL_ID } from './patterns';
import { DuplicateKeys, Problems, RowReader } from './row-reader';
import type { ColumnSpec, Validated } from './validator';

export const CONTACT_COLUMNS: ColumnSpec = {
  required: ['person', 'kind', 'value'],
  optional: ['priority', 'verified_at'],
};

/** Contact points by (person, kind, value); the person must already be in the directory. */
export async function validateContacts(
  file: SourceFile,
  lookup: DirectoryLookup,
): Promise<Validated<ContactRow>> {
  const problems = new Problems();
  const keys = new DuplicateKeys('value');
  const rows: ContactRow[] = [];

  for (const source of file.rows) {
    const r = new RowReader(source, problems);
    const person = r.matching('person', EXTERNAL_ID);
    const kind = r.oneOf('kind', CONTACT_KINDS);
    const given = r.text('value', { required: true, max: 200 });
    let value = given;
    if (kind && given) {
      const contact = normaliseContact(kind, given);
      if (contact.ok) value = contact.value;
      else r.problem('value', contact.message, contact.messageEn);
    }
    const priority = r.integer('priority', 0, 1000);
    const verifiedAt = r.date('verified_at');
    if (person && kind && value)
      keys.check(r, `${person}\u0000${kind}\u0000${value}`, `${person} ${kind} ${value}`);
    rows.push({ row: r.row, person, kind: kind || 'mobile', value, priority, verifiedAt });
  }

  const people = await lookup.people(rows.map((c) => c.person));
  for (const c of rows) {
    if (c.person && !people.has(c.person)) {
      problems.add(c.row, 'person', `人员 ${c.person} 不存在`, `person ${c.person} does not exist`);
    }
  }
  return { rows, problems: problems.list };
}
