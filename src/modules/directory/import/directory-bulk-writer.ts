import type { SecretBox } from '../../../common/crypto/secret-box';
import { SITE_RELATIONS, type SiteRelation } from '../directory.types';
import { chunked, setIfDistinct, type SqlRunner, upsert, type UpsertColumn } from './bulk-sql';
import type {
  BroadcastTerminalRow,
  ContactRow,
  DivisionRow,
  GridRow,
  HazardSiteRow,
  PersonRow,
  RobotRow,
} from './import-rows';
import { importRejected } from './import-rejected';
import type { ImportProblem } from './import.types';
import { uuidV7 } from './uuid-v7';
import { hasContactColumns } from './validators/people.validator';

export interface WriteCounts {
  inserted: number;
  updated: number;
}

/** Sites carry link lists, so they go in smaller chunks than plain rows. */
const SITE_CHUNK = 1000;
const ID_CHUNK = 10_000;

/** Tells inserted keys from changed ones when several statements touch the same rows. */
class ChangeCounter {
  private readonly inserted = new Set<string>();
  private readonly changed = new Set<string>();

  rows(rows: Array<{ key: string; inserted: boolean }>): void {
    for (const row of rows) (row.inserted ? this.inserted : this.changed).add(row.key);
  }

  keys(keys: Iterable<string>): void {
    for (const key of keys) this.changed.add(key);
  }

  counts(): WriteCounts {
    let updated = 0;
    for (const key of this.changed) if (!this.inserted.has(key)) updated++;
    return { inserted: this.inserted.size, updated };
  }
}

function tally(rows: Array<{ inserted: boolean }>, counts: WriteCounts): void {
  for (const row of rows) {
    if (row.inserted) counts.inserted++;
    else counts.updated++;
  }
}

/**
 * Writes validated rows with set-based statements: each chunk is one INSERT … SELECT FROM unnest
 * ON CONFLICT DO UPDATE, and link sets are replaced with one DELETE and one INSERT per chunk.
 * Unchanged rows are not rewritten, so re-importing a file changes nothing.
 *
 * Optional columns the file does not have are left as they are in the database (new rows get
 * their defaults); a column the file has but a row leaves empty is cleared.
 */
export class DirectoryBulkWriter {
  constructor(
    private readonly sql: SqlRunner,
    private readonly secretBox: SecretBox,
    /** Called with the number of rows just written. */
    private readonly advance: (rows: number) => void = () => undefined,
  ) {}

  async divisions(rows: DivisionRow[]): Promise<WriteCounts> {
    // Parents before children, so that each statement's foreign keys are satisfied.
    const ordered = [...rows].sort(
      (a, b) => a.code.length - b.code.length || (a.code < b.code ? -1 : 1),
    );
    const counts = { inserted: 0, updated: 0 };
    for (const chunk of chunked(ordered)) {
      const changed = await upsert(this.sql, {
        table: 'divisions',
        key: ['code'],
        returning: ['code'],
        columns: [
          { name: 'code', type: 'text', values: chunk.map((d) => d.code) },
          { name: 'name', type: 'text', values: chunk.map((d) => d.name) },
          { name: 'level', type: 'text', values: chunk.map((d) => d.level) },
          { name: 'parent_code', type: 'text', values: chunk.map((d) => d.parentCode) },
        ],
      });
      tally(changed, counts);
      this.advance(chunk.length);
    }
    return counts;
  }

  async grids(rows: GridRow[]): Promise<WriteCounts> {
    const counts = { inserted: 0, updated: 0 };
    for (const chunk of chunked(rows)) {
      const changed = await upsert(this.sql, {
        table: 'grids',
        key: ['code'],
        returning: ['code'],
        columns: [
          { name: 'code', type: 'text', values: chunk.map((g) => g.code) },
          { name: 'name', type: 'text', values: chunk.map((g) => g.name) },
          { name: 'village_code', type: 'text', values: chunk.map((g) => g.villageCode) },
        ],
      });
      tally(changed, counts);
      this.advance(chunk.length);
    }
    return counts;
  }

  /**
   * People by external id, then (with contact columns) their contact points, then supervisors
   * by external id in one set-based pass, so their order in the file does not matter. A
   * supervisor chain that loops rejects the whole import.
   */
  async people(rows: PersonRow[], columns: ReadonlySet<string>): Promise<WriteCounts> {
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

  /**
   * Contact points by (person, kind, value). Without a priority, an existing point keeps its
   * own and a new one goes after the person's others (stored or given in the file).
   */
  async contacts(rows: ContactRow[], columns: ReadonlySet<string>): Promise<WriteCounts> {
    const counts = { inserted: 0, updated: 0 };
    const updates = columns.has('verified_at') ? ['priority', 'verified_at'] : ['priority'];
    for (const chunk of chunked(rows)) {
      const changed = await this.sql.rows<{ inserted: boolean }>(
        `INSERT INTO contact_points AS c (id, person_id, kind, value, priority, verified_at)
         SELECT new_id, person_id, kind, value,
           COALESCE(priority, existing_priority,
             GREATEST(base, COALESCE(max(priority) OVER (PARTITION BY person_id), 0))
             + count(*) FILTER (WHERE priority IS NULL AND existing_priority IS NULL)
                 OVER (PARTITION BY person_id ORDER BY ord)),
           verified_at
         FROM (
           SELECT u.new_id, p.id AS person_id, u.kind, u.value, u.priority, u.verified_at, u.ord,
             e.priority AS existing_priority,
             COALESCE((SELECT max(x.priority) FROM contact_points x WHERE x.person_id = p.id), 0) AS base
           FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::date[], $6::uuid[])
             WITH ORDINALITY AS u(external_id, kind, value, priority, verified_at, new_id, ord)
           CROSS JOIN LATERAL (SELECT id FROM people WHERE external_id = u.external_id) p
           LEFT JOIN LATERAL (
             SELECT priority FROM contact_points
             WHERE person_id = p.id AND kind = u.kind AND value = u.value
           ) e ON true
         ) s
         ON CONFLICT (person_id, kind, value) DO UPDATE ${setIfDistinct('c', updates)}
         RETURNING (xmax = 0) AS inserted`,
        [
          chunk.map((c) => c.person),
          chunk.map((c) => c.kind),
          chunk.map((c) => c.value),
          chunk.map((c) => c.priority),
          chunk.map((c) => c.verifiedAt),
          chunk.map(() => uuidV7()),
        ],
      );
      tally(changed, counts);
      this.advance(chunk.length);
    }
    return counts;
  }

  /** Hazard points or risk zones, then the link sets the file has columns for. */
  async hazardSites(rows: HazardSiteRow[], columns: ReadonlySet<string>): Promise<WriteCounts> {
    const counter = new ChangeCounter();
    for (const chunk of chunked(rows, SITE_CHUNK)) {
      const spec: UpsertColumn[] = [
        { name: 'code', type: 'text', values: chunk.map((s) => s.code) },
        { name: 'type', type: 'text', values: chunk.map((s) => s.type), update: false },
        { name: 'name', type: 'text', values: chunk.map((s) => s.name) },
        { name: 'hazard', type: 'text', values: chunk.map((s) => s.hazard) },
        { name: 'division_code', type: 'text', values: chunk.map((s) => s.divisionCode) },
      ];
      if (columns.has('latitude') || columns.has('longitude')) {
        spec.push({ name: 'latitude', type: 'float8', values: chunk.map((s) => s.latitude) });
        spec.push({ name: 'longitude', type: 'float8', values: chunk.map((s) => s.longitude) });
      }
      if (columns.has('threatened_people')) {
        spec.push({
          name: 'threatened_people',
          type: 'int',
          values: chunk.map((s) => s.threatenedPeople),
        });
      }
      if (columns.has('threatened_households')) {
        spec.push({
          name: 'threatened_households',
          type: 'int',
          values: chunk.map((s) => s.threatenedHouseholds),
        });
      }
      const changed = await upsert<{ code: string }>(this.sql, {
        table: 'hazard_sites',
        key: ['code'],
        returning: ['code'],
        columns: spec,
      });
      counter.rows(changed.map((r) => ({ key: r.code, inserted: r.inserted })));
      if (columns.has('grids')) counter.keys(await this.replaceSiteGrids(chunk));
      for (const relation of SITE_RELATIONS) {
        if (columns.has(relation)) counter.keys(await this.replaceSitePeople(chunk, relation));
      }
      this.advance(chunk.length);
    }
    return counter.counts();
  }

  private async replaceSiteGrids(chunk: HazardSiteRow[]): Promise<string[]> {
    const sites = chunk.flatMap((s) => s.grids.map(() => s.code));
    const grids = chunk.flatMap((s) => s.grids);
    const deleted = await this.sql.rows<{ site_code: string }>(
      `DELETE FROM hazard_site_grids h
       WHERE h.site_code = ANY($1::text[])
         AND NOT EXISTS (
           SELECT 1 FROM unnest($2::text[], $3::text[]) AS u(site_code, grid_code)
           WHERE u.site_code = h.site_code AND u.grid_code = h.grid_code)
       RETURNING h.site_code`,
      [chunk.map((s) => s.code), sites, grids],
    );
    const inserted = await this.sql.rows<{ site_code: string }>(
      `INSERT INTO hazard_site_grids (site_code, grid_code)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT DO NOTHING
       RETURNING site_code`,
      [sites, grids],
    );
    return [...deleted, ...inserted].map((r) => r.site_code);
  }

  private async replaceSitePeople(
    chunk: HazardSiteRow[],
    relation: SiteRelation,
  ): Promise<string[]> {
    const sites = chunk.flatMap((s) => s[relation].map(() => s.code));
    const people = chunk.flatMap((s) => s[relation]);
    const wanted = `
      SELECT u.site_code, p.id AS person_id
      FROM unnest($1::text[], $2::text[]) AS u(site_code, external_id)
      CROSS JOIN LATERAL (SELECT id FROM people WHERE external_id = u.external_id) p`;
    const deleted = await this.sql.rows<{ site_code: string }>(
      `WITH wanted AS (${wanted})
       DELETE FROM hazard_site_people h
       WHERE h.relation = $3 AND h.site_code = ANY($4::text[])
         AND NOT EXISTS (
           SELECT 1 FROM wanted w WHERE w.site_code = h.site_code AND w.person_id = h.person_id)
       RETURNING h.site_code`,
      [sites, people, relation, chunk.map((s) => s.code)],
    );
    const inserted = await this.sql.rows<{ site_code: string }>(
      `INSERT INTO hazard_site_people (site_code, person_id, relation)
       SELECT site_code, person_id, $3 FROM (${wanted}) w
       ON CONFLICT DO NOTHING
       RETURNING site_code`,
      [sites, people, relation],
    );
    return [...deleted, ...inserted].map((r) => r.site_code);
  }

  /**
   * Robots, with webhook URL and secret sealed by the SecretBox. A value that decrypts to what
   * the file gives keeps its stored ciphertext, so a re-import leaves the row untouched.
   */
  async robots(rows: RobotRow[], columns: ReadonlySet<string>): Promise<WriteCounts> {
    const counts = { inserted: 0, updated: 0 };
    for (const chunk of chunked(rows)) {
      const stored = new Map(
        (
          await this.sql.rows<{
            code: string;
            webhook_url_encrypted: string;
            secret_encrypted: string | null;
          }>(
            `SELECT code, webhook_url_encrypted, secret_encrypted FROM group_robots WHERE code = ANY($1::text[])`,
            [chunk.map((b) => b.code)],
          )
        ).map((r) => [r.code, r]),
      );
      const spec: UpsertColumn[] = [
        { name: 'code', type: 'text', values: chunk.map((b) => b.code) },
        { name: 'platform', type: 'text', values: chunk.map((b) => b.platform) },
        { name: 'name', type: 'text', values: chunk.map((b) => b.name) },
        { name: 'division_code', type: 'text', values: chunk.map((b) => b.divisionCode) },
        {
          name: 'webhook_url_encrypted',
          type: 'text',
          values: chunk.map((b) =>
            this.seal(b.webhookUrl, stored.get(b.code)?.webhook_url_encrypted),
          ),
        },
      ];
      if (columns.has('grid')) {
        spec.push({ name: 'grid_code', type: 'text', values: chunk.map((b) => b.gridCode) });
      }
      if (columns.has('secret')) {
        spec.push({
          name: 'secret_encrypted',
          type: 'text',
          values: chunk.map(
            (b) => b.secret && this.seal(b.secret, stored.get(b.code)?.secret_encrypted),
          ),
        });
      }
      const changed = await upsert(this.sql, {
        table: 'group_robots',
        key: ['code'],
        returning: ['code'],
        columns: spec,
      });
      tally(changed, counts);
      this.advance(chunk.length);
    }
    return counts;
  }

  private seal(plain: string, sealed: string | null | undefined): string {
    if (sealed) {
      try {
        if (this.secretBox.decrypt(sealed) === plain) return sealed;
      } catch {
        // Sealed under another APP_SECRET (or damaged): seal again with the current one.
      }
    }
    return this.secretBox.encrypt(plain);
  }

  async broadcastTerminals(rows: BroadcastTerminalRow[]): Promise<WriteCounts> {
    const counts = { inserted: 0, updated: 0 };
    for (const chunk of chunked(rows)) {
      const changed = await upsert(this.sql, {
        table: 'broadcast_terminals',
        key: ['code'],
        returning: ['code'],
        columns: [
          { name: 'code', type: 'text', values: chunk.map((t) => t.code) },
          { name: 'name', type: 'text', values: chunk.map((t) => t.name) },
          { name: 'division_code', type: 'text', values: chunk.map((t) => t.divisionCode) },
        ],
      });
      tally(changed, counts);
      this.advance(chunk.length);
    }
    return counts;
  }
}
