import type { SecretBox } from '../../../common/crypto/secret-box';
import { SITE_RELATIONS, type SiteRelation } from '../../../common/domain/directory.types';
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
import { PeopleWriter } from './people-writer';
import { uuidV7 } from './uuid-v7';
import { ChangeCounter, tally, type WriteCounts } from './write-counts';

export type { WriteCounts } from './write-counts';

/** Sites carry link lists, so they go in smaller chunks than plain rows. */
const SITE_CHUNK = 1000;

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

  /** People, their contact points and supervisors: see PeopleWriter. */
  people(rows: PersonRow[], columns: ReadonlySet<string>): Promise<WriteCounts> {
    return new PeopleWriter(this.sql, this.advance).write(rows, columns);
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
