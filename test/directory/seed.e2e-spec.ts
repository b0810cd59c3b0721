import { Global, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SecretBox } from '../../src/common/crypto/secret-box';
import { SECRET_BOX } from '../../src/common/crypto/secret-box.token';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import { SeedCommand } from '../../src/modules/directory/seed/seed.command';
import { SeedModule } from '../../src/modules/directory/seed/seed.module';
import { SeedService } from '../../src/modules/directory/seed/seed.service';
import { createTestDatabase } from '../helpers/database';
import { snapshot, TEST_APP_SECRET } from '../fixtures/import/harness';
import { AuditModule } from '../../src/modules/audit/audit.module';

const secretBox = new SecretBox(TEST_APP_SECRET);

@Global()
@Module({ providers: [{ provide: SECRET_BOX, useValue: secretBox }], exports: [SECRET_BOX] })
class TestSecretsModule {}

/** A migrated database and the SeedModule wired as the app wires it (TypeORM root + SECRET_BOX). */
async function openSeeded(label: string) {
  const db = await createTestDatabase(label);
  const migrate = new DataSource(buildDataSourceOptions(db.url));
  await migrate.initialize();
  await runMigrations(migrate);
  await migrate.destroy();
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot(buildDataSourceOptions(db.url)),
      TestSecretsModule,
      AuditModule,
      SeedModule,
    ],
  }).compile();
  const app = await moduleRef.init();
  return {
    db,
    ds: app.get(DataSource),
    seeds: app.get(SeedService),
    command: app.get(SeedCommand),
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}

type Seeded = Awaited<ReturnType<typeof openSeeded>>;

/** The directory's content without generated ids, timestamps or ciphertexts. */
async function content(ds: DataSource) {
  const q = (sql: string) => ds.query(sql);
  return {
    divisions: await q(`SELECT code, name, level, parent_code FROM divisions ORDER BY code`),
    grids: await q(`SELECT code, name, village_code FROM grids ORDER BY code`),
    people: await q(`
      SELECT p.external_id, p.name, p.role, p.division_code, p.grid_code, p.title, s.external_id AS supervisor
      FROM people p LEFT JOIN people s ON s.id = p.supervisor_id ORDER BY p.external_id`),
    contacts: await q(`
      SELECT p.external_id, c.kind, c.value, c.priority, c.verified_at::text
      FROM contact_points c JOIN people p ON p.id = c.person_id ORDER BY 1, 2, 3`),
    sites: await q(`SELECT code, type, name, hazard, division_code, latitude, longitude,
      threatened_people, threatened_households FROM hazard_sites ORDER BY code`),
    siteGrids: await q(`SELECT site_code, grid_code FROM hazard_site_grids ORDER BY 1, 2`),
    sitePeople: await q(`SELECT l.site_code, l.relation, p.external_id FROM hazard_site_people l
      JOIN people p ON p.id = l.person_id ORDER BY 1, 2, 3`),
    robots: (
      await q(`SELECT code, platform, name, division_code, grid_code, webhook_url_encrypted, secret_encrypted
        FROM group_robots ORDER BY code`)
    ).map((r: Record<string, string | null>) => ({
      ...r,
      webhook_url_encrypted: secretBox.decrypt(String(r.webhook_url_encrypted)),
      secret_encrypted: r.secret_encrypted && secretBox.decrypt(r.secret_encrypted),
    })),
    terminals: await q(`SELECT code, name, division_code FROM broadcast_terminals ORDER BY code`),
  };
}

describe('seed: a synthetic county through the import path (real Postgres)', () => {
  const RESIDENTS = 3000;
  let a: Seeded;

  beforeAll(async () => {
    a = await openSeeded('seed_a');
  });

  afterAll(async () => {
    await a?.close();
  });

  it('writes every kind, reporting progress up to the total', async () => {
    const progress: Array<[number, number]> = [];
    const summary = await a.seeds.seedCounty({
      countyCode: '513221',
      residents: RESIDENTS,
      seed: 1,
      chunkSize: 1000,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(summary).toMatchObject({ countyCode: '513221', countyName: '汶川县', seed: 1 });
    const kinds = summary.results.map((r) => r.kind);
    expect(kinds).toEqual([
      'divisions',
      'grids',
      'people',
      'contacts',
      'hazard-points',
      'risk-zones',
      'robots',
      'broadcast-terminals',
    ]);
    for (const r of summary.results) expect(r).toMatchObject({ inserted: r.rows, updated: 0 });
    const people = summary.results.find((r) => r.kind === 'people');
    expect(people?.rows).toBe(RESIDENTS + summary.counts.officials);

    const [counts] = await a.ds.query(`SELECT
      (SELECT count(*)::int FROM people WHERE role = 'resident') AS residents,
      (SELECT count(*)::int FROM grids) AS grids,
      (SELECT count(*)::int FROM hazard_sites) AS sites,
      (SELECT count(*)::int FROM group_robots) AS robots`);
    expect(counts).toEqual({
      residents: RESIDENTS,
      grids: summary.counts.grids,
      sites: summary.counts.hazardPoints + summary.counts.riskZones,
      robots: summary.counts.robots,
    });

    const total = progress[0][1];
    expect(progress.every(([, t]) => t === total)).toBe(true);
    expect(progress.map(([d]) => d)).toEqual([...progress.map(([d]) => d)].sort((x, y) => x - y));
    expect(progress[progress.length - 1][0]).toBe(total);
  });

  it('ends every supervisor chain at the county duty officer', async () => {
    const tops = await a.ds.query(`
      WITH RECURSIVE chain(start_id, id, supervisor_id, depth) AS (
        SELECT id, id, supervisor_id, 0 FROM people WHERE role <> 'resident'
        UNION ALL
        SELECT c.start_id, p.id, p.supervisor_id, c.depth + 1
        FROM chain c JOIN people p ON p.id = c.supervisor_id WHERE c.depth < 50
      )
      SELECT top.external_id, top.role, top.division_code, count(*)::int AS people, max(c.depth) AS depth
      FROM chain c JOIN people top ON top.id = c.id
      WHERE c.supervisor_id IS NULL GROUP BY 1, 2, 3`);
    const [{ officials }] = await a.ds.query(
      `SELECT count(*)::int AS officials FROM people WHERE role <> 'resident'`,
    );
    expect(tops).toEqual([
      {
        external_id: '513221-ZB01',
        role: 'duty_officer',
        division_code: '513221',
        people: officials,
        depth: 5,
      },
    ]);
    const chain = await a.ds.query(`
      WITH RECURSIVE up(id, role, supervisor_id) AS (
        (SELECT id, role, supervisor_id FROM people WHERE role = 'group_monitor' LIMIT 1)
        UNION ALL SELECT p.id, p.role, p.supervisor_id FROM up JOIN people p ON p.id = up.supervisor_id
      ) SELECT role FROM up`);
    expect(chain.map((r: { role: string }) => r.role)).toEqual([
      'group_monitor',
      'grid_leader',
      'village_responsible',
      'township_responsible',
      'county_responsible',
      'duty_officer',
    ]);
  });

  it("puts grids under villages and grid people in their grid's village", async () => {
    const [bad] = await a.ds.query(`SELECT
      (SELECT count(*)::int FROM grids g JOIN divisions d ON d.code = g.village_code
        WHERE d.level <> 'village' OR NOT starts_with(g.code, g.village_code)
          OR g.code !~ '^[0-9]{15}$') AS grids,
      (SELECT count(*)::int FROM people p JOIN grids g ON g.code = p.grid_code
        WHERE p.division_code <> g.village_code) AS people,
      (SELECT count(*)::int FROM divisions WHERE level = 'village' AND name !~ '(村|社区)$') AS villages,
      (SELECT count(*)::int FROM divisions WHERE level = 'township' AND name !~ '(镇|乡|街道)$') AS townships`);
    expect(bad).toEqual({ grids: 0, people: 0, villages: 0, townships: 0 });
    const [grid] = await a.ds.query(`SELECT name FROM grids ORDER BY code LIMIT 1`);
    expect(grid.name).toMatch(/^.+(村|社区)第1网格$/);
  });

  it('gives residents E.164 mobiles and links threatened residents to sites', async () => {
    const [stats] = await a.ds.query(`SELECT
      (SELECT count(*)::int FROM people p WHERE p.role = 'resident' AND NOT EXISTS (
        SELECT 1 FROM contact_points c WHERE c.person_id = p.id AND c.kind = 'mobile'
          AND c.value ~ '^\\+861[3-9][0-9]{9}$')) AS without_mobile,
      (SELECT count(DISTINCT value)::int FROM contact_points WHERE kind = 'mobile') AS mobiles,
      (SELECT count(*)::int FROM people) AS people,
      (SELECT count(*)::int FROM hazard_site_people l JOIN people p ON p.id = l.person_id
        WHERE l.relation = 'threatened' AND p.role <> 'resident') AS threatened_officials,
      (SELECT count(*)::int FROM hazard_sites s WHERE NOT EXISTS (
        SELECT 1 FROM hazard_site_people l WHERE l.site_code = s.code AND l.relation = 'responsible')) AS unattended`);
    expect(stats).toMatchObject({ without_mobile: 0, threatened_officials: 0, unattended: 0 });
    expect(stats.mobiles).toBe(stats.people); // one distinct mobile per person
    const [{ sat }] = await a.ds.query(
      `SELECT count(*)::int AS sat FROM contact_points WHERE kind = 'satellite'`,
    );
    expect(sat).toBeGreaterThan(0);
  });

  it('stores robot credentials encrypted', async () => {
    const rows = await a.ds.query(
      `SELECT webhook_url_encrypted, secret_encrypted FROM group_robots`,
    );
    const table = JSON.stringify(rows);
    expect(table).not.toMatch(/https:|access_token|SEC[0-9a-f]{8}/);
    expect(
      rows.every((r: { webhook_url_encrypted: string }) =>
        r.webhook_url_encrypted.startsWith('v1:'),
      ),
    ).toBe(true);
  });

  it('is idempotent: seeding again with the same options changes nothing', async () => {
    const before = await snapshot(a.ds);
    const summary = await a.seeds.seedCounty({
      countyCode: '513221',
      residents: RESIDENTS,
      seed: 1,
    });
    for (const r of summary.results)
      expect(r).toMatchObject({ inserted: 0, updated: 0, unchanged: r.rows });
    expect(await snapshot(a.ds)).toEqual(before);
  });

  it('is deterministic: the same seed gives the same county elsewhere, another seed another', async () => {
    const b = await openSeeded('seed_b');
    const c = await openSeeded('seed_c');
    try {
      await b.seeds.seedCounty({
        countyCode: '513221',
        residents: RESIDENTS,
        seed: 1,
        chunkSize: 777,
      });
      await c.seeds.seedCounty({ countyCode: '513221', residents: RESIDENTS, seed: 2 });
      const [ca, cb, cc] = [await content(a.ds), await content(b.ds), await content(c.ds)];
      expect(cb).toEqual(ca);
      for (const key of ['people', 'contacts', 'sites', 'robots', 'divisions'] as const) {
        expect(cc[key]).not.toEqual(ca[key]);
      }
      // Same scale either way.
      expect(cc.people.length).toBeGreaterThan(RESIDENTS);
      expect(cc.grids.length).toBe(ca.grids.length);
    } finally {
      await b.close();
      await c.close();
    }
  });

  it('runs as the seed command and prints a summary', async () => {
    const d = await openSeeded('seed_cmd');
    let stdout = '';
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => d.command.parseCounty('5132')).toThrow(/6-digit/);
      expect(() => d.command.parseResidents('-3')).toThrow(/whole number/);
      await d.command.run([], {
        county: d.command.parseCounty('621223'),
        residents: d.command.parseResidents('400'),
        seed: d.command.parseSeed('7'),
      });
    } finally {
      out.mockRestore();
      err.mockRestore();
      await d.close();
    }
    expect(stdout).toContain('宕昌县 (621223), seed 7');
    expect(stdout).toMatch(/people\s+\d+ rows\s+\d+ inserted/);
    expect(stdout).toMatch(/done in \d+\.\d s/);
  });
});
