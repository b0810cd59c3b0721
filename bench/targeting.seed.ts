import type { DataSource } from 'typeorm';

/**
 * A synthetic county for the targeting benchmark, generated in Postgres with generate_series
 * (set-based: a million people in well under a minute, no rows through Node).
 *
 * Layout (county 513221 under 5132 / 51):
 * - TOWNSHIPS townships 513221001…, each with VILLAGES_PER_TOWNSHIP villages, each with
 *   GRIDS_PER_VILLAGE grids (codes village || 001…);
 * - staff: county (1 responsible, 2 duty officers, 3 technical managers), per township
 *   (responsible, 2 duty officers, resident geologist, 2 area leads), per village (responsible,
 *   2 group monitors), per grid (leader, 2 members), with supervisor chains
 *   grid → village → township → county;
 * - residents: the rest of `people`, spread evenly over the grids;
 * - contacts: a mobile for everyone, WeCom for staff, a satellite phone for responsible persons,
 *   a landline for one resident in five (about 1.2 contact points per person);
 * - HAZARD_POINTS hazard points (one grid, 30 threatened residents, village responsible and
 *   township geologist) and RISK_ZONES risk zones (three grids, 200 threatened residents,
 *   township and village responsible).
 *
 * People are inserted in a hashed order, not grouped by village: a village's residents are spread
 * over the whole table, as after years of roster updates — the unfavourable case for locality.
 * Ids are md5-derived (deterministic, uniformly spread like gen_random_uuid()) and uncorrelated
 * with the insertion order, as with random uuids.
 */
export const BENCH_COUNTY = '513221';
export const TOWNSHIPS = 20;
export const VILLAGES_PER_TOWNSHIP = 25;
export const GRIDS_PER_VILLAGE = 4;
export const HAZARD_POINTS = 600;
export const RISK_ZONES = 120;
/** Bump when the generated data changes, so that an existing bench database is regenerated. */
export const SEED_VERSION = 2;

const VILLAGES = TOWNSHIPS * VILLAGES_PER_TOWNSHIP;
const GRIDS = VILLAGES * GRIDS_PER_VILLAGE;
export const STAFF = 6 + 6 * TOWNSHIPS + 3 * VILLAGES + 3 * GRIDS;

export interface SeedInfo {
  people: number;
  version: number;
}

/** The seed recorded in the database, if any (bench_meta is the benchmark's own table). */
export async function readSeedInfo(ds: DataSource): Promise<SeedInfo | undefined> {
  await ds.query(`CREATE TABLE IF NOT EXISTS bench_meta (
    name text PRIMARY KEY, people int NOT NULL, version int NOT NULL, seeded_at timestamptz NOT NULL DEFAULT now())`);
  const rows: SeedInfo[] = await ds.query(
    `SELECT people, version FROM bench_meta WHERE name = 'targeting'`,
  );
  return rows[0];
}

export async function seedBenchDirectory(
  ds: DataSource,
  people: number,
  log: (msg: string) => void,
): Promise<void> {
  if (people < STAFF + GRIDS) throw new Error(`at least ${STAFF + GRIDS} people are needed`);
  const residents = people - STAFF;
  // One session for the whole seed, so that its settings apply to every step.
  const runner = ds.createQueryRunner();
  await runner.connect();
  const step = async (label: string, sql: string, params: unknown[] = []) => {
    const started = Date.now();
    await runner.query(sql, params);
    log(`  ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  };
  try {
    await runner.query(`SET work_mem = '256MB'`);
    await runner.query(`SET maintenance_work_mem = '512MB'`);
    await runner.query(`SET synchronous_commit = off`);
    await seedSteps(step, people, residents, log);
  } finally {
    // The connection goes back to the pool the benchmark measures with: no seeding settings there.
    await runner.query('RESET ALL').catch(() => undefined);
    await runner.release();
  }
  await ds.query(`INSERT INTO bench_meta (name, people, version) VALUES ('targeting', $1, $2)`, [
    people,
    SEED_VERSION,
  ]);
}

async function seedSteps(
  step: (label: string, sql: string, params?: unknown[]) => Promise<void>,
  people: number,
  residents: number,
  log: (msg: string) => void,
): Promise<void> {
  log(
    `seeding ${people.toLocaleString('en')} people (${STAFF} staff) into county ${BENCH_COUNTY}…`,
  );
  await step('forgot the previous seed', `DELETE FROM bench_meta WHERE name = 'targeting'`);
  await step(
    'emptied the directory',
    `TRUNCATE hazard_site_people, hazard_site_grids, hazard_sites, contact_points, group_robots,
              broadcast_terminals, people, grids, divisions CASCADE`,
  );
  await step(
    'divisions',
    `WITH t AS (SELECT $1::text || lpad(i::text, 3, '0') AS code, i FROM generate_series(1, $2::int) i)
     INSERT INTO divisions (code, name, level, parent_code)
     SELECT * FROM (VALUES ('51', '四川省', 'province', NULL), ('5132', '阿坝州', 'city', '51'),
                           ($1::text, '汶川县', 'county', '5132')) v(code, name, level, parent_code)
     UNION ALL SELECT t.code, '乡镇' || t.i, 'township', $1 FROM t
     UNION ALL SELECT t.code || lpad(v::text, 3, '0'), '村' || t.i || '-' || v, 'village', t.code
                 FROM t CROSS JOIN generate_series(1, $3::int) v`,
    [BENCH_COUNTY, TOWNSHIPS, VILLAGES_PER_TOWNSHIP],
  );
  await step(
    'grids',
    `INSERT INTO grids (code, name, village_code)
     SELECT d.code || lpad(g::text, 3, '0'), '网格' || g, d.code
       FROM divisions d CROSS JOIN generate_series(1, $1::int) g WHERE d.level = 'village'`,
    [GRIDS_PER_VILLAGE],
  );
  // One statement: FKs (supervisor_id) are checked at its end, so the order of rows is free.
  await step(
    'people',
    `WITH grid_no AS (
       SELECT code, village_code, (row_number() OVER (ORDER BY code) - 1)::int AS idx FROM grids
     ), staff(ext, role, division, grid, sup) AS (
       SELECT 'C-' || k, r, $1::text, NULL::text, CASE WHEN k = 1 THEN NULL ELSE 'C-1' END
         FROM (VALUES (1, 'county_responsible'), (2, 'duty_officer'), (3, 'duty_officer'),
                      (4, 'technical_manager'), (5, 'technical_manager'), (6, 'technical_manager')) v(k, r)
       UNION ALL
       SELECT 'T-' || d.code || '-' || k, r, d.code, NULL, CASE WHEN k = 1 THEN 'C-1' ELSE 'T-' || d.code || '-1' END
         FROM divisions d
        CROSS JOIN (VALUES (1, 'township_responsible'), (2, 'duty_officer'), (3, 'duty_officer'),
                           (4, 'resident_geologist'), (5, 'area_lead'), (6, 'area_lead')) v(k, r)
        WHERE d.level = 'township'
       UNION ALL
       SELECT 'V-' || d.code || '-' || k, r, d.code, NULL,
              CASE WHEN k = 1 THEN 'T-' || d.parent_code || '-1' ELSE 'V-' || d.code || '-1' END
         FROM divisions d
        CROSS JOIN (VALUES (1, 'village_responsible'), (2, 'group_monitor'), (3, 'group_monitor')) v(k, r)
        WHERE d.level = 'village'
       UNION ALL
       SELECT 'G-' || g.code || '-' || k, r, g.village_code, g.code,
              CASE WHEN k = 1 THEN 'V-' || g.village_code || '-1' ELSE 'G-' || g.code || '-1' END
         FROM grids g CROSS JOIN (VALUES (1, 'grid_leader'), (2, 'grid_member'), (3, 'grid_member')) v(k, r)
     ), everyone AS (
       SELECT * FROM staff
       UNION ALL
       SELECT 'R-' || lpad(n::text, 8, '0'), 'resident', g.village_code, g.code, NULL
         FROM generate_series(1, $2::int) n JOIN grid_no g ON g.idx = (n - 1) % $3::int
     )
     INSERT INTO people (id, external_id, name, role, division_code, grid_code, supervisor_id)
     SELECT md5(ext)::uuid, ext, '姓名' || ext, role, division, grid, md5(sup)::uuid
       FROM everyone ORDER BY md5('heap:' || ext)`,
    [BENCH_COUNTY, residents, GRIDS],
  );
  await step(
    'contact points',
    `INSERT INTO contact_points (person_id, kind, value, priority, verified_at)
     SELECT p.id, c.kind, c.value, c.priority, c.verified
       FROM people p
      CROSS JOIN LATERAL (
        SELECT 'mobile' AS kind, '+861' || lpad((abs(hashtext(p.external_id)::bigint) % 10000000000)::text, 10, '3') AS value,
               1 AS priority, CASE WHEN p.role <> 'resident' THEN DATE '2026-04-15' END AS verified
        UNION ALL
        SELECT 'wecom', 'wx-' || p.external_id, 2, NULL WHERE p.role <> 'resident'
        UNION ALL
        SELECT 'satellite', '+8707' || lpad((abs(hashtext('sat' || p.external_id)::bigint) % 100000000)::text, 8, '0'), 3, NULL
         WHERE p.role LIKE '%_responsible'
        UNION ALL
        SELECT 'landline', '+868' || lpad((abs(hashtext('tel' || p.external_id)::bigint) % 1000000000)::text, 9, '0'), 2, NULL
         WHERE p.role = 'resident' AND abs(hashtext(p.external_id)::bigint) % 5 = 0
      ) c`,
  );
  await step(
    'hazard points and risk zones',
    `WITH v AS (
       SELECT code, parent_code, (row_number() OVER (ORDER BY code) - 1)::int AS idx
         FROM divisions WHERE level = 'village'
     )
     INSERT INTO hazard_sites (code, type, name, hazard, division_code, threatened_people, threatened_households)
     SELECT 'HP-' || lpad(i::text, 5, '0'), 'hazard_point', '隐患点' || i, 'landslide', v.code, 30, 10
       FROM generate_series(1, $1::int) i JOIN v ON v.idx = (i - 1) % $3::int
     UNION ALL
     SELECT 'RZ-' || lpad(j::text, 5, '0'), 'risk_zone', '风险区' || j, 'debris_flow', v.code, 200, 70
       FROM generate_series(1, $2::int) j JOIN v ON v.idx = ((j - 1) * 7) % $3::int`,
    [HAZARD_POINTS, RISK_ZONES, VILLAGES],
  );
  await step(
    'sites: grids',
    `INSERT INTO hazard_site_grids (site_code, grid_code)
     SELECT s.code, s.division_code || lpad(((substr(s.code, 4)::int - 1) / $1::int % $2::int + 1)::text, 3, '0')
       FROM hazard_sites s WHERE s.type = 'hazard_point'
     UNION ALL
     SELECT s.code, s.division_code || lpad(g::text, 3, '0')
       FROM hazard_sites s CROSS JOIN generate_series(1, 3) g WHERE s.type = 'risk_zone'`,
    [VILLAGES, GRIDS_PER_VILLAGE],
  );
  await step(
    'sites: people',
    `INSERT INTO hazard_site_people (site_code, person_id, relation)
     SELECT s.code, r.id, 'threatened'
       FROM hazard_sites s
      CROSS JOIN LATERAL (
        SELECT p.id FROM people p JOIN hazard_site_grids sg ON sg.grid_code = p.grid_code
         WHERE sg.site_code = s.code AND p.role = 'resident'
         ORDER BY p.id LIMIT (CASE s.type WHEN 'hazard_point' THEN 30 ELSE 200 END)
      ) r
     UNION ALL
     SELECT s.code, md5('V-' || s.division_code || '-1')::uuid, 'responsible' FROM hazard_sites s
     UNION ALL
     SELECT s.code, md5('T-' || left(s.division_code, 9) || CASE s.type WHEN 'hazard_point' THEN '-4' ELSE '-1' END)::uuid,
            'responsible'
       FROM hazard_sites s`,
  );
  await step('VACUUM ANALYZE', `VACUUM ANALYZE`);
}

/** Codes used by the scenarios, read back from the generated data. */
export async function benchCodes(ds: DataSource): Promise<{
  township: string;
  village: string;
  otherVillage: string;
  hazardPoint: string;
  hazardPoints: string[];
  riskZones: string[];
}> {
  const township = `${BENCH_COUNTY}007`;
  const village = `${township}013`;
  const otherVillage = `${BENCH_COUNTY}012004`;
  const hp: { code: string }[] = await ds.query(
    `SELECT code FROM hazard_sites WHERE type = 'hazard_point' ORDER BY code LIMIT 20`,
  );
  const rz: { code: string }[] = await ds.query(
    `SELECT code FROM hazard_sites WHERE type = 'risk_zone' ORDER BY code LIMIT 5`,
  );
  return {
    township,
    village,
    otherVillage,
    hazardPoint: hp[0].code,
    hazardPoints: hp.map((r) => r.code),
    riskZones: rz.map((r) => r.code),
  };
}
