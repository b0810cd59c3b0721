import type { DataSource } from 'typeorm';
import {
  HELP_NOT_PASSED_ON_SQL,
  LOST_GROUP_RULES_SQL,
} from '../../src/modules/dispatch/escalation.service';
import { migratedTestDatabase, type TestDatabase } from '../helpers/database';
import { plannedRows } from '../helpers/plan-rows';

/** Residents reached on an active warning: nothing of theirs concerns either search. */
const RESIDENTS = 5000;
/** Grids, each with a grid leader whose group rule was evaluated (but the last grid's). */
const GRIDS = 20;

/**
 * Two searches of the recovery sweep (every 30 s) read every delivery of every active warning: at
 * a million people the search for requests for help not passed on took 0.43 s a sweep and found
 * nothing. Each now starts from the few rows it is about (partial indexes). Work is counted in
 * rows read, from the plan, never in time.
 */
describe('recovery sweep: lost group rules and help requests, found by what they are about', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let warningId: string;

  beforeAll(async () => {
    ({ db, ds } = await migratedTestDatabase('sweep_plans'));
    await ds.query(`
      INSERT INTO divisions (code, name, level, parent_code) VALUES
        ('51', '四川省', 'province', NULL), ('5132', '阿坝州', 'city', '51'),
        ('513221', '汶川县', 'county', '5132'), ('513221001', '映秀镇', 'township', '513221'),
        ('513221001001', '渔子溪村', 'village', '513221001');
      INSERT INTO grids (code, name, village_code)
        SELECT '513221001001' || lpad(g::text, 3, '0'), '渔子溪村第' || g || '网格', '513221001001'
          FROM generate_series(1, ${GRIDS}) g;
      INSERT INTO people (external_id, name, role, division_code, grid_code)
        SELECT 'GL-' || g, '网格长' || g, 'grid_leader', '513221001001', '513221001001' || lpad(g::text, 3, '0')
          FROM generate_series(1, ${GRIDS}) g;
      INSERT INTO people (external_id, name, role, division_code, grid_code, supervisor_id)
        SELECT 'R-' || i, '居民' || i, 'resident', '513221001001', '513221001001001',
               (SELECT id FROM people WHERE external_id = 'GL-1')
          FROM generate_series(1, ${RESIDENTS}) i;
      INSERT INTO people (external_id, name, role, division_code)
        VALUES ('DO-1', '县值班员', 'duty_officer', '513221');`);
    const [w] = await ds.query(
      `INSERT INTO warnings (kind, status, issuer_name, issuer_division, expires_at, fanout_done_at, state,
                             current_version)
       VALUES ('meteorological_risk', 'exercise', 'test', '513221', now() + interval '1 day',
               now() - interval '1 hour', 'active', 1)
       RETURNING id`,
    );
    warningId = w.id;
    await ds.query(
      `INSERT INTO warning_versions (warning_id, version, national_id, msg_type, level, audience, areas, content, sent_at)
       VALUES ($1, 1, $2, 'alert', 'orange', '{resident}', '{513221001001}', $3, now())`,
      [
        warningId,
        `5132214160000${Date.now()}`.padEnd(31, '0').slice(0, 31),
        JSON.stringify({ kind: 'meteorological_risk', status: 'exercise', headline: 'sweeps' }),
      ],
    );
    const [policy] = await ds.query(
      `WITH u AS (UPDATE escalation_policies SET group_rule_seconds = 600
                    WHERE id = (SELECT id FROM escalation_policies ORDER BY rank LIMIT 1) RETURNING id)
       SELECT id FROM u`,
    );
    // Everyone's SMS sent. Two minutes ago R-1, R-2 and R-3 asked for help: R-1's request reached
    // their grid leader and the county's duty officer, R-2's nobody, R-3's only the grid leader.
    await ds.query(
      `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code, state,
                               policy_id, help_requested_at)
       SELECT $1, p.id, 1, 'alert', p.role, p.division_code, p.grid_code, 'sent', $2,
              CASE WHEN p.external_id IN ('R-1', 'R-2', 'R-3') THEN now() - interval '2 minutes' END
         FROM people p`,
      [warningId, policy.id],
    );
    await ds.query(
      `INSERT INTO escalations (warning_id, from_delivery_id, to_delivery_id, reason)
       SELECT $1, f.id, t.id, 'help_requested'
         FROM deliveries f JOIN people fp ON fp.id = f.person_id,
              deliveries t JOIN people tp ON tp.id = t.person_id
        WHERE (fp.external_id = 'R-1' AND tp.external_id IN ('GL-1', 'DO-1'))
           OR (fp.external_id = 'R-3' AND tp.external_id = 'GL-1')`,
      [warningId],
    );
    // Every grid's group rule was evaluated but the last one's.
    await ds.query(
      `INSERT INTO group_rule_outcomes (warning_id, version, grid_code, rule, required, total, confirmed, met)
       SELECT $1, 1, code, '{}'::jsonb, 1, 1, 1, true FROM grids WHERE code <> '513221001001' || lpad('${GRIDS}', 3, '0')`,
      [warningId],
    );
    await ds.query(`ANALYZE`);
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('finds the requests for help not passed on to everyone, reading the requests, not every delivery', async () => {
    const notPassedOn = await ds.query(
      `SELECT d.id AS "deliveryId", d.warning_id AS "warningId" FROM deliveries d JOIN people p ON p.id = d.person_id
        WHERE p.external_id IN ('R-2', 'R-3') ORDER BY d.id`,
    );
    const found = await ds.query(
      `SELECT * FROM (${HELP_NOT_PASSED_ON_SQL}) f ORDER BY "deliveryId"`,
    );
    expect(found).toEqual(notPassedOn);
    // The three requests for help and the deliveries they reached; never the thousands.
    expect(await plannedRows(ds, HELP_NOT_PASSED_ON_SQL, 'deliveries')).toBeLessThan(50);
    // Who should have heard of each: the requester, their supervisor, the duty officers.
    expect(await plannedRows(ds, HELP_NOT_PASSED_ON_SQL, 'people')).toBeLessThan(50);
  });

  it('finds the grid whose group rule was lost, reading the responsible people, not every delivery', async () => {
    expect(await ds.query(LOST_GROUP_RULES_SQL)).toEqual([
      { warningId, version: 1, gridCode: `513221001001${String(GRIDS).padStart(3, '0')}` },
    ]);
    // The grid leaders' deliveries (one a grid), give or take; never the residents'.
    expect(await plannedRows(ds, LOST_GROUP_RULES_SQL, 'deliveries')).toBeLessThan(GRIDS * 3);
  });
});
