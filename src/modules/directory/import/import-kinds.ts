import type { DirectoryBulkWriter, WriteCounts } from './directory-bulk-writer';
import type { ImportKind, ImportProblem, SourceFile } from './import.types';
import {
  BROADCAST_TERMINAL_COLUMNS,
  validateBroadcastTerminals,
} from './validators/broadcast-terminals.validator';
import { CONTACT_COLUMNS, validateContacts } from './validators/contacts.validator';
import type { DirectoryLookup } from './validators/directory-lookup';
import { DIVISION_COLUMNS, validateDivisions } from './validators/divisions.validator';
import { GRID_COLUMNS, validateGrids } from './validators/grids.validator';
import { HAZARD_SITE_COLUMNS, hazardSiteValidator } from './validators/hazard-sites.validator';
import { PEOPLE_COLUMNS, validatePeople } from './validators/people.validator';
import { ROBOT_COLUMNS, validateRobots } from './validators/robots.validator';
import type { ColumnSpec, Validator } from './validators/validator';

/** A checked file: its problems, and how to write it if there are none. */
export interface CheckedFile {
  problems: ImportProblem[];
  write(writer: DirectoryBulkWriter): Promise<WriteCounts>;
}

export interface KindHandler {
  columns: ColumnSpec;
  check(file: SourceFile, lookup: DirectoryLookup): Promise<CheckedFile>;
}

function kind<T>(
  columns: ColumnSpec,
  validate: Validator<T>,
  write: (
    writer: DirectoryBulkWriter,
    rows: T[],
    columns: ReadonlySet<string>,
  ) => Promise<WriteCounts>,
): KindHandler {
  return {
    columns,
    async check(file, lookup) {
      const { rows, problems } = await validate(file, lookup);
      return { problems, write: (writer) => write(writer, rows, file.columns) };
    },
  };
}

/** Each import kind: its columns, its validator and its bulk write. */
export const IMPORT_HANDLERS: Record<ImportKind, KindHandler> = {
  divisions: kind(DIVISION_COLUMNS, validateDivisions, (w, rows) => w.divisions(rows)),
  grids: kind(GRID_COLUMNS, validateGrids, (w, rows) => w.grids(rows)),
  people: kind(PEOPLE_COLUMNS, validatePeople, (w, rows, columns) => w.people(rows, columns)),
  contacts: kind(CONTACT_COLUMNS, validateContacts, (w, rows, columns) =>
    w.contacts(rows, columns),
  ),
  'hazard-points': kind(
    HAZARD_SITE_COLUMNS,
    hazardSiteValidator('hazard_point'),
    (w, rows, columns) => w.hazardSites(rows, columns),
  ),
  'risk-zones': kind(HAZARD_SITE_COLUMNS, hazardSiteValidator('risk_zone'), (w, rows, columns) =>
    w.hazardSites(rows, columns),
  ),
  robots: kind(ROBOT_COLUMNS, validateRobots, (w, rows, columns) => w.robots(rows, columns)),
  'broadcast-terminals': kind(BROADCAST_TERMINAL_COLUMNS, validateBroadcastTerminals, (w, rows) =>
    w.broadcastTerminals(rows),
  ),
};
