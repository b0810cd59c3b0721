import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { DataSource } from 'typeorm';
import { PERSON_ROLES } from '../../../common/domain/directory.types';
import {
  buildTargetFilter,
  countByRoleSql,
  countSql,
  isGridCode,
  normalizeTargetQuery,
  recipientsSql,
  type RecipientRow,
  type TargetFilter,
} from './targeting.sql';
import type {
  Recipient,
  RecipientContact,
  TargetQuery,
  TargetStreamOptions,
  UnknownTargets,
} from '../../../common/domain/targeting.types';

const DEFAULT_BATCH_SIZE = 1000;
const MAX_BATCH_SIZE = 50_000;
const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
const CURSOR_NAME = 'targeting_recipients';

/**
 * Targeting: who a warning reaches ("到村到户到人").
 *
 * Semantics of a TargetQuery:
 * - A **grid code** given among the areas (网格: the village's 12 digits and the grid's number,
 *   e.g. 513221001001001) targets every person whose `grid_code` is that grid: its residents and
 *   its staff.
 * - An **area** (a division code of any level: province 2, city 4, county 6, township 9, village 12
 *   digits) targets every person whose `division_code` is that code or lies below it, i.e. starts
 *   with it (a code's prefix is its ancestry). People attached to an ancestor are not included:
 *   targeting village 513221001001 does not reach the township 513221001's responsible person,
 *   targeting the township does. Sibling codes never match each other (513221001 does not reach
 *   513221010…), see targeting.sql.ts for the byte-range form.
 * - A **hazard point** (隐患点, hazard_sites.type = 'hazard_point') or **risk zone** (风险区,
 *   type = 'risk_zone') targets
 *     - its linked people, both relations: `threatened` residents and `responsible` persons, and
 *     - the grid staff of the grids it touches (hazard_site_grids): every person whose grid_code is
 *       one of those grids and whose role is not `resident`. Residents of a touched grid who are
 *       not linked to the site are not reached by it.
 *   A code is looked up with the type it was given as: a risk zone's code in `hazardPoints`
 *   reaches no one (and findUnknownTargets reports it).
 * - The recipients are the **union** of all targets. A person reached by several targets
 *   (overlapping areas, an area and a site, two sites) is **one** recipient.
 * - **roles**, when present and non-empty, filter that union: only people with one of the roles
 *   remain. Absent or empty: every role.
 * - Unknown codes reach no one; `findUnknownTargets` lists them so that the API can reject the
 *   warning (400) naming them. Malformed area codes are rejected by every method with a
 *   validation error (they are not ranges of anything).
 * - A query with no target at all has no recipients.
 *
 * Cost: one statement per call, whatever the number of targets; people rows are reached by btree
 * range scans (areas), primary key lookups (sites) or one sequential scan (when the areas are most
 * of the table); no recipient set is deduplicated or held in memory. `stream` reads through a
 * server-side cursor in batches, so memory stays at two batches (the one handed out and the one
 * being fetched) whatever the recipient count.
 */
@Injectable()
export class TargetingService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Number of distinct recipients. */
  async count(query: TargetQuery): Promise<number> {
    const filter = this.filter(query);
    if (!filter.hasTargets) return 0;
    const rows: { n: string }[] = await this.db.query(countSql(filter), filter.params);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Distinct recipients per role (roles with no recipient are left out), in PERSON_ROLES order.
   * The sum is count(query).
   */
  async countByRole(query: TargetQuery): Promise<Record<string, number>> {
    const filter = this.filter(query);
    if (!filter.hasTargets) return {};
    const rows: { role: string; n: string }[] = await this.db.query(
      countByRoleSql(filter),
      filter.params,
    );
    const rank = (role: string) => {
      const i = (PERSON_ROLES as readonly string[]).indexOf(role);
      return i < 0 ? PERSON_ROLES.length : i;
    };
    rows.sort(
      (a, b) => rank(a.role) - rank(b.role) || (a.role < b.role ? -1 : a.role > b.role ? 1 : 0),
    );
    const result: Record<string, number> = {};
    for (const row of rows) result[row.role] = Number(row.n);
    return result;
  }

  /**
   * The recipients, in batches of at most `batchSize`, in no particular order, each with its
   * contact points ordered by priority.
   *
   * Reads through a server-side cursor (DECLARE … CURSOR in a READ ONLY, REPEATABLE READ
   * transaction: one consistent snapshot from the first batch to the last) on a connection of its
   * own taken from the DataSource's pool. The connection goes back to the pool when the iteration
   * ends, also when the consumer stops early (`break`, `return`) or throws; a connection whose
   * transaction could not be ended is destroyed instead. Always consume the iterable with
   * `for await` (or call `return()` on its iterator): an iterator that is dropped half-way keeps its
   * connection until `idleTimeoutMs` lets the server end the session.
   */
  async *stream(
    query: TargetQuery,
    options: TargetStreamOptions = {},
  ): AsyncGenerator<Recipient[], void, undefined> {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new RangeError(`batchSize must be an integer between 1 and ${MAX_BATCH_SIZE}`);
    }
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs < 0) {
      throw new RangeError('idleTimeoutMs must be a non-negative integer');
    }
    const filter = this.filter(query);
    if (!filter.hasTargets) return;

    const client = await this.pool().connect();
    // A checked-out pg client has no 'error' listener; without one, the server ending the session
    // between two FETCHes (idle timeout, admin) would be an uncaught 'error' event. The next query
    // fails with the connection error instead, and the client is then destroyed, not reused.
    let connectionError: Error | undefined;
    const onError = (err: Error) => {
      connectionError ??= err;
    };
    client.on('error', onError);
    let open = false;
    let done = false;
    let inFlight: Promise<QueryResult<RecipientRow>> | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      open = true;
      // A cursor is planned for its first rows by default (cursor_tuple_fraction 0.1); this one is
      // always read to the end, so plan it like a plain query. JIT compilation (hundreds of ms
      // above jit_above_cost) buys nothing for a query whose time goes into per-row index probes
      // and JSON building.
      await client.query(
        `SET LOCAL cursor_tuple_fraction = 1; SET LOCAL jit = off; ` +
          `SET LOCAL idle_in_transaction_session_timeout = ${idleTimeoutMs}`,
      );
      await client.query(
        `DECLARE ${CURSOR_NAME} NO SCROLL CURSOR FOR ${recipientsSql(filter)}`,
        filter.params,
      );
      // One FETCH stays in flight while the consumer works on the previous batch, so that the
      // server produces batch n+1 while Node parses and hands out batch n. A FETCH that is still
      // running when the consumer leaves is awaited before the transaction ends (pg runs a
      // connection's queries in order anyway); the catch(noop) only marks it as handled meanwhile.
      const fetch = () => {
        const promise = client.query<RecipientRow>(
          `FETCH FORWARD ${batchSize} FROM ${CURSOR_NAME}`,
        );
        promise.catch(noop);
        return promise;
      };
      inFlight = fetch();
      while (inFlight) {
        const { rows }: QueryResult<RecipientRow> = await inFlight;
        inFlight = rows.length === batchSize ? fetch() : undefined;
        if (rows.length) yield rows.map(toRecipient);
      }
      done = true;
    } finally {
      if (inFlight) await inFlight.catch(noop);
      const releaseError = connectionError ?? (await endTransaction(client, open, done));
      client.removeListener('error', onError);
      // release(err) destroys the connection instead of returning it to the pool.
      client.release(releaseError);
    }
  }

  /**
   * The targets of a query that name nothing in the directory, each list in input order without
   * duplicates: area codes that are malformed or have no division, hazard point / risk zone codes
   * with no hazard site of that type, roles outside PERSON_ROLES. All empty: the query is valid.
   */
  async findUnknownTargets(query: TargetQuery): Promise<UnknownTargets> {
    const areas = [...new Set(query.areas ?? [])];
    const hazardPoints = [...new Set(query.hazardPoints ?? [])];
    const riskZones = [...new Set(query.riskZones ?? [])];
    const roles = [...new Set(query.roles ?? [])].filter(
      (r) => !(PERSON_ROLES as readonly string[]).includes(r),
    );

    const found = {
      areas: new Set<string>(),
      hazardPoints: new Set<string>(),
      riskZones: new Set<string>(),
    };
    if (areas.length || hazardPoints.length || riskZones.length) {
      const rows: { kind: keyof typeof found; code: string }[] = await this.db.query(
        `SELECT 'areas' AS kind, d.code FROM divisions d WHERE d.code = ANY ($1::varchar[])
         UNION ALL
         SELECT 'areas', g.code FROM grids g WHERE g.code = ANY ($4::varchar[])
         UNION ALL
         SELECT CASE s.type WHEN 'hazard_point' THEN 'hazardPoints' ELSE 'riskZones' END, s.code
           FROM hazard_sites s
          WHERE (s.type = 'hazard_point' AND s.code = ANY ($2::varchar[]))
             OR (s.type = 'risk_zone' AND s.code = ANY ($3::varchar[]))`,
        [areas.filter((c) => !isGridCode(c)), hazardPoints, riskZones, areas.filter(isGridCode)],
      );
      for (const row of rows) found[row.kind].add(row.code);
    }
    return {
      // A malformed code cannot be in divisions (CHECK constraint), so it is reported here too.
      areas: areas.filter((c) => !found.areas.has(c)),
      hazardPoints: hazardPoints.filter((c) => !found.hazardPoints.has(c)),
      riskZones: riskZones.filter((c) => !found.riskZones.has(c)),
      roles,
    };
  }

  /**
   * The recipients grouped by what decides the channels their first step uses: role, whether
   * they are threatened by one of `dangerSites` (hazard points / risk zones; every recipient is
   * when none is given) and the kinds of contact point they have. One statement.
   */
  async reachProfile(
    query: TargetQuery,
    dangerSites: string[],
  ): Promise<{ role: string; inDanger: boolean; kinds: string[]; people: number }[]> {
    const filter = this.filter(query);
    if (!filter.hasTargets) return [];
    const params = [...filter.params, dangerSites];
    const danger = dangerSites.length
      ? `p.id IN (SELECT hp.person_id FROM hazard_site_people hp
                   WHERE hp.relation = 'threatened' AND hp.site_code = ANY ($${params.length}::text[]))`
      : 'true';
    const rows: { role: string; inDanger: boolean; kinds: string[]; n: string }[] =
      await this.db.query(
        `SELECT p.role, ${danger} AS "inDanger",
                coalesce((SELECT array_agg(DISTINCT c.kind::text ORDER BY c.kind::text)
                            FROM contact_points c WHERE c.person_id = p.id), '{}') AS kinds,
                count(*) AS n
           FROM people p
          WHERE ${filter.where}
          GROUP BY 1, 2, 3`,
        params,
      );
    return rows.map((r) => ({
      role: r.role,
      inDanger: r.inDanger,
      kinds: r.kinds,
      people: Number(r.n),
    }));
  }

  /**
   * The group channels the recipients' places hold: the group robots of their grids, or of a
   * division that holds them, and the loudspeakers of the divisions they live in (terminals and
   * the divisions that have them).
   */
  async groupReach(
    query: TargetQuery,
  ): Promise<{ robots: number; terminals: number; terminalDivisions: number }> {
    const filter = this.filter(query);
    if (!filter.hasTargets) return { robots: 0, terminals: 0, terminalDivisions: 0 };
    const [row]: { robots: string; terminals: string; divisions: string }[] = await this.db.query(
      `WITH places AS (SELECT DISTINCT p.division_code, p.grid_code FROM people p WHERE ${filter.where})
       SELECT (SELECT count(*) FROM group_robots r
                WHERE EXISTS (SELECT 1 FROM places x
                               WHERE (r.grid_code IS NOT NULL AND x.grid_code = r.grid_code)
                                  OR (r.grid_code IS NULL AND starts_with(x.division_code, r.division_code)))
              ) AS robots,
              count(t.code) AS terminals, count(DISTINCT t.division_code) AS divisions
         FROM broadcast_terminals t
        WHERE t.division_code IN (SELECT division_code FROM places)`,
      filter.params,
    );
    return {
      robots: Number(row?.robots ?? 0),
      terminals: Number(row?.terminals ?? 0),
      terminalDivisions: Number(row?.divisions ?? 0),
    };
  }

  private filter(query: TargetQuery): TargetFilter {
    return buildTargetFilter(normalizeTargetQuery(query));
  }

  /** The node-postgres pool behind the DataSource (TypeORM's PostgresDriver keeps it as `master`). */
  private pool(): Pool {
    const pool = (this.db.driver as unknown as { master?: Pool }).master;
    if (this.db.options.type !== 'postgres' || !pool) {
      throw new Error('TargetingService needs an initialised Postgres DataSource');
    }
    return pool;
  }
}

const noop = () => undefined;

/** Contacts come unordered from SQL (see recipientsSql); order: priority, then kind, then value. */
function compareContacts(a: RecipientContact, b: RecipientContact): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** Turns a row of recipientsSql into a Recipient, in place (rows are fresh objects from pg). */
function toRecipient(row: RecipientRow): Recipient {
  const contacts: RecipientContact[] = (row.contacts ?? []).map(
    ([kind, value, priority, verifiedAt]) => ({
      kind: kind as RecipientContact['kind'],
      value,
      priority,
      verifiedAt,
    }),
  );
  if (contacts.length > 1) contacts.sort(compareContacts);
  const recipient = row as unknown as Recipient;
  recipient.contacts = contacts;
  return recipient;
}

/**
 * Ends the stream's transaction: COMMIT after a complete read, ROLLBACK otherwise (which also
 * closes the cursor). Returns an error when the connection must not be reused.
 */
async function endTransaction(
  client: PoolClient,
  open: boolean,
  done: boolean,
): Promise<Error | undefined> {
  try {
    // Even when BEGIN itself failed the server may be in a transaction: a ROLLBACK is harmless.
    await client.query(open && done ? 'COMMIT' : 'ROLLBACK');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
