import type { HazardSiteType } from '../../../../common/domain/directory.types';
import { chunked, type SqlRunner } from '../bulk-sql';

const LOOKUP_CHUNK = 50_000;

function distinct(keys: Iterable<string>): string[] {
  return [...new Set([...keys].filter((k) => k !== ''))];
}

/**
 * What the database already holds, asked for in sets (one query per 50k keys, never per row).
 * Each key is a LATERAL index probe: a plain join or `= ANY` may be planned as a full scan when
 * the table's statistics lag behind a large import.
 */
export class DirectoryLookup {
  constructor(private readonly sql: SqlRunner) {}

  private async select<T>(sql: string, keys: Iterable<string>): Promise<T[]> {
    const out: T[] = [];
    for (const chunk of chunked(distinct(keys), LOOKUP_CHUNK)) {
      out.push(...(await this.sql.rows<T>(sql, [chunk])));
    }
    return out;
  }

  /** The divisions among `codes` that exist. */
  async divisions(codes: Iterable<string>): Promise<Set<string>> {
    const rows = await this.select<{ code: string }>(
      `SELECT d.code FROM unnest($1::text[]) AS u(key)
       CROSS JOIN LATERAL (SELECT code FROM divisions WHERE code = u.key) d`,
      codes,
    );
    return new Set(rows.map((r) => r.code));
  }

  /** Existing grids among `codes`, with their village. */
  async grids(codes: Iterable<string>): Promise<Map<string, string>> {
    const rows = await this.select<{ code: string; village_code: string }>(
      `SELECT g.code, g.village_code FROM unnest($1::text[]) AS u(key)
       CROSS JOIN LATERAL (SELECT code, village_code FROM grids WHERE code = u.key) g`,
      codes,
    );
    return new Map(rows.map((r) => [r.code, r.village_code]));
  }

  /** The external ids among `ids` that belong to someone. */
  async people(ids: Iterable<string>): Promise<Set<string>> {
    const rows = await this.select<{ external_id: string }>(
      `SELECT p.external_id FROM unnest($1::text[]) AS u(key)
       CROSS JOIN LATERAL (SELECT external_id FROM people WHERE external_id = u.key) p`,
      ids,
    );
    return new Set(rows.map((r) => r.external_id));
  }

  /** Existing hazard points and risk zones among `codes`, with their type. */
  async hazardSites(codes: Iterable<string>): Promise<Map<string, HazardSiteType>> {
    const rows = await this.select<{ code: string; type: HazardSiteType }>(
      `SELECT s.code, s.type FROM unnest($1::text[]) AS u(key)
       CROSS JOIN LATERAL (SELECT code, type FROM hazard_sites WHERE code = u.key) s`,
      codes,
    );
    return new Map(rows.map((r) => [r.code, r.type]));
  }
}
