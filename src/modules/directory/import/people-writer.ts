import { chunked, setIfDistinct, type SqlRunner, upsert, type UpsertColumn } from './bulk-sql';
import type { PersonRow } from './import-rows';
import { importRejected } from './import-rejected';
import type { ImportProblem } from './import.types';
import { uuidV7 } from './uuid-v7';
import { hasContactColumns } from './validators/people.validator';
import { ChangeCounter, type WriteCounts } from './write-counts';

const ID_CHUNK = 10_000;

/** The people part of the bulk writer: people, their contact points, their supervisors. */
export class PeopleWriter {
  constructor(
    private readonly sql: SqlRunner,
    private readonly advance: (rows: number) => void,
  ) {}

  /**
   * People by external id, then (with contact columns) their contact points, then supervisors
   * by external id in one set-based pass, so their order in the file does not matter. A
   * supervisor chain that loops rejects the whole import.
   */
  async write(rows: PersonRow[], columns: ReadonlySet<string>): Promise<WriteCounts> {
    const counter = new ChangeCounter();
    const withContacts = hasContactColumns(columns);
    for (const chunk of chunked(rows)) {
      const spec: UpsertColumn[] = [
        // Time-ordered ids for new people (see uuid-v7.ts); an existing person keeps theirs.
        { name: 'id', type: 'uuid', values: chunk.map(() => uuidV7()), update: false },
        { name: 'external_id', type: 'text', values: chunk.map((p) => p.externalId) },
        { name: 'name', type: 'text', values: chunk.map((p) => p.name) },
        { name: 'role', type: 'text', values: chunk.map((p) => p.role) },
        { name: 'division_code', type: 'text', values: chunk.map((p) => p.divisionCode) },
      ];
      if (columns.has('grid')) {
        spec.push({ name: 'grid_code', type: 'text', values: chunk.map((p) => p.gridCode) });
      }
      if (columns.has('title')) {
        spec.push({ name: 'title', type: 'text', values: chunk.map((p) => p.title) });
      }
      const changed = await upsert<{ id: string; external_id: string }>(this.sql, {
        table: 'people',
        key: ['external_id'],
        returning: ['id', 'external_id'],
        columns: spec,
      });
      counter.rows(changed.map((r) => ({ key: r.id, inserted: r.inserted })));
      if (withContacts) {
        // The upsert returned the ids of new and changed people; look up only the unchanged.
        const ids = new Map(changed.map((r) => [r.external_id, r.id]));
        const created = new Set(changed.filter((r) => r.inserted).map((r) => r.id));
        const unchanged = chunk.map((p) => p.externalId).filter((id) => !ids.has(id));
        for (const [externalId, id] of await this.personIds(unchanged)) ids.set(externalId, id);
        counter.keys(await this.replaceContacts(chunk, ids, created, columns.has('verified_at')));
      }
      this.advance(chunk.length);
    }
    if (columns.has('supervisor')) counter.keys(await this.linkSupervisors(rows));
    return counter.counts();
  }

  /**
   * Ids by external id. A LATERAL probe per id keeps this an index lookup whatever the planner
   * thinks of a table that grew by a million rows since it was last analysed.
   */
  private async personIds(externalIds: string[]): Promise<Map<string, string>> {
    if (externalIds.length === 0) return new Map();
    const rows = await this.sql.rows<{ external_id: string; id: string }>(
      `SELECT u.external_id, p.id FROM unnest($1::text[]) AS u(external_id)
       CROSS JOIN LATERAL (SELECT id FROM people WHERE external_id = u.external_id) p`,
      [externalIds],
    );
    return new Map(rows.map((r) => [r.external_id, r.id]));
  }

  /**
   * Makes each person's contact points exactly those of their row; returns the people changed.
   * People created by this import have none yet, so only the others are looked at for deletion.
   */
  private async replaceContacts(
    chunk: PersonRow[],
    ids: Map<string, string>,
    created: Set<string>,
    withVerified: boolean,
  ): Promise<string[]> {
    const people: string[] = [];
    const kinds: string[] = [];
    const values: string[] = [];
    const priorities: number[] = [];
    const verified: Array<string | null> = [];
    for (const p of chunk) {
      const id = ids.get(p.externalId);
      if (id === undefined) throw new Error(`person ${p.externalId} vanished during the import`);
      p.contacts.forEach((c, i) => {
        people.push(id);
        kinds.push(c.kind);
        values.push(c.value);
        priorities.push(i + 1);
        verified.push(p.verifiedAt);
      });
    }
    const existing = [...ids.values()].filter((id) => !created.has(id));
    const deleted =
      existing.length === 0
        ? []
        : await this.sql.rows<{ person_id: string }>(
            `DELETE FROM contact_points c
             WHERE c.person_id = ANY($1::uuid[])
               AND NOT EXISTS (
                 SELECT 1 FROM unnest($2::uuid[], $3::text[], $4::text[]) AS u(person_id, kind, value)
                 WHERE u.person_id = c.person_id AND u.kind = c.kind AND u.value = c.value)
             RETURNING c.person_id`,
            [existing, people, kinds, values],
          );
    const updates = withVerified ? ['priority', 'verified_at'] : ['priority'];
    const upserted = await this.sql.rows<{ person_id: string }>(
      `INSERT INTO contact_points AS c (id, person_id, kind, value, priority, verified_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::date[])
       ON CONFLICT (person_id, kind, value) DO UPDATE ${setIfDistinct('c', updates)}
       RETURNING c.person_id`,
      [people.map(() => uuidV7()), people, kinds, values, priorities, verified],
    );
    return [...deleted, ...upserted].map((r) => r.person_id);
  }

  /**
   * Points supervisor_id at the supervisors named by external id, once every person of the file
   * exists. Written as an upsert of rows that all conflict, so that each row is found through
   * the unique index rather than through a join the planner may turn into a full scan.
   */
  private async linkSupervisors(rows: PersonRow[]): Promise<string[]> {
    const changed: string[] = [];
    for (const chunk of chunked(rows)) {
      const updated = await this.sql.rows<{ id: string }>(
        `INSERT INTO people AS t (external_id, name, role, division_code, supervisor_id)
         SELECT u.external_id, u.name, u.role, u.division_code, s.id
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
           AS u(external_id, name, role, division_code, supervisor)
         LEFT JOIN LATERAL (SELECT id FROM people WHERE external_id = u.supervisor) s ON true
         ON CONFLICT (external_id) DO UPDATE SET supervisor_id = EXCLUDED.supervisor_id, updated_at = now()
         WHERE t.supervisor_id IS DISTINCT FROM EXCLUDED.supervisor_id
         RETURNING t.id`,
        [
          chunk.map((p) => p.externalId),
          chunk.map((p) => p.name),
          chunk.map((p) => p.role),
          chunk.map((p) => p.divisionCode),
          chunk.map((p) => p.supervisor),
        ],
      );
      changed.push(...updated.map((r) => r.id));
    }
    await this.refuseSupervisorLoops(changed, rows);
    return changed;
  }

  /** Escalation must end somewhere: a chain that comes back to its start rejects the import. */
  private async refuseSupervisorLoops(changedIds: string[], rows: PersonRow[]): Promise<void> {
    const looped: string[] = [];
    for (const chunk of chunked(changedIds, ID_CHUNK)) {
      const found = await this.sql.rows<{ external_id: string }>(
        `WITH RECURSIVE chain(start_id, id) AS (
           SELECT id, id FROM people WHERE id = ANY($1::uuid[]) AND supervisor_id IS NOT NULL
           UNION ALL
           SELECT c.start_id, p.supervisor_id FROM chain c
           CROSS JOIN LATERAL (
             SELECT supervisor_id FROM people WHERE id = c.id AND supervisor_id IS NOT NULL
           ) p
         ) CYCLE id SET looped USING path,
         looping AS (SELECT DISTINCT start_id FROM chain WHERE looped AND id = start_id)
         SELECT p.external_id FROM looping l
         CROSS JOIN LATERAL (SELECT external_id FROM people WHERE id = l.start_id) p`,
        [chunk],
      );
      looped.push(...found.map((r) => r.external_id));
    }
    if (looped.length === 0) return;
    const rowOf = new Map(rows.map((p) => [p.externalId, p.row]));
    const problems: ImportProblem[] = looped.map((id) => ({
      row: rowOf.get(id),
      field: 'supervisor',
      message: `上级关系形成循环（${id} 的上级链回到本人）`,
      messageEn: `the supervisor chain of ${id} loops back to them`,
    }));
    throw importRejected(problems, rows.length);
  }
}
