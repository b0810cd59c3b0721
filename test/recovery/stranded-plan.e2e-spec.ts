import type { DataSource } from 'typeorm';
import { STRANDED_SQL } from '../../src/modules/dispatch/lifecycle.service';
import { migratedTestDatabase, type TestDatabase } from '../helpers/database';
import { plannedRows } from '../helpers/plan-rows';

/** People reached on an active warning (their one SMS sent): nothing of theirs was cut short. */
const REACHED = 5000;

/**
 * The recovery sweep looks for people whose failure handling was cut short (every attempt
 * failed, still `pending` or `sent`) every 30 s. Found at a million people: the search read every
 * open delivery of every active warning (3.7 s a sweep, 14 % of Postgres's time in the run). It
 * now starts from the failed attempts. Work is counted in rows read, from the plan, never in time.
 */
describe('recovery sweep: failure handling cut short, found by what failed', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    ({ db, ds } = await migratedTestDatabase('stranded_plan'));
    await ds.query(`
      INSERT INTO divisions (code, name, level, parent_code) VALUES
        ('51', '四川省', 'province', NULL), ('5132', '阿坝州', 'city', '51'),
        ('513221', '汶川县', 'county', '5132'), ('513221001', '映秀镇', 'township', '513221'),
        ('513221001001', '渔子溪村', 'village', '513221001');
      INSERT INTO grids (code, name, village_code) VALUES ('513221001001001', '渔子溪村第1网格', '513221001001');
      INSERT INTO people (external_id, name, role, division_code, grid_code)
        SELECT 'SP-' || i, '居民' || i, 'resident', '513221001001', '513221001001001'
          FROM generate_series(1, ${REACHED + 3}) i;`);
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('reads the failed attempts, not every open delivery, and finds only who was cut short', async () => {
    const [w] = await ds.query(
      `INSERT INTO warnings (kind, status, issuer_name, issuer_division, expires_at, fanout_done_at, state)
       VALUES ('meteorological_risk', 'exercise', 'test', '513221', now() + interval '1 day', now(), 'active')
       RETURNING id`,
    );
    await ds.query(
      `INSERT INTO warning_versions (warning_id, version, national_id, msg_type, level, audience, areas, content, sent_at)
       VALUES ($1, 1, $2, 'alert', 'orange', '{resident}', '{513221001001}', $3, now())`,
      [
        w.id,
        `5132214160000${Date.now()}`.padEnd(31, '0').slice(0, 31),
        JSON.stringify({ kind: 'meteorological_risk', status: 'exercise', headline: 'stranded' }),
      ],
    );
    // Everyone reached; SP-<REACHED+1> cut short (their one SMS failed a minute ago);
    // SP-<REACHED+2> failed 5 s ago (its handling may still be running); SP-<REACHED+3> failed
    // a minute ago but failed over to an SMS now queued.
    await ds.query(
      `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code, state)
       SELECT $1, p.id, 1, 'alert', p.role, p.division_code, p.grid_code,
              CASE WHEN p.external_id IN ('SP-${REACHED + 1}', 'SP-${REACHED + 2}', 'SP-${REACHED + 3}') THEN 'pending' ELSE 'sent' END
         FROM people p`,
      [w.id],
    );
    await ds.query(
      `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address,
                                     priority, purpose, status, failed_at, sent_at)
       SELECT d.id, d.warning_id, 1, 'alert', 0, 'sms', 'mobile', '+8613900000000', 5, 'warning',
              CASE WHEN p.external_id IN ('SP-${REACHED + 1}', 'SP-${REACHED + 2}', 'SP-${REACHED + 3}') THEN 'failed' ELSE 'sent' END,
              CASE WHEN p.external_id = 'SP-${REACHED + 2}' THEN now() - interval '5 seconds'
                   WHEN p.external_id IN ('SP-${REACHED + 1}', 'SP-${REACHED + 3}') THEN now() - interval '1 minute' END,
              now() - interval '2 minutes'
         FROM deliveries d JOIN people p ON p.id = d.person_id`,
    );
    await ds.query(
      `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, purpose)
       SELECT d.id, d.warning_id, 1, 'alert', 1, 'sms', 'mobile', '+8613900000001', 5, 'warning'
         FROM deliveries d JOIN people p ON p.id = d.person_id WHERE p.external_id = 'SP-${REACHED + 3}'`,
    );
    await ds.query(`ANALYZE`);
    const [cutShort] = await ds.query(
      `SELECT a.id FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
        WHERE p.external_id = 'SP-${REACHED + 1}'`,
    );

    expect(await ds.query(STRANDED_SQL)).toEqual([{ attemptId: cutShort.id }]);

    expect(await plannedRows(ds, STRANDED_SQL, 'deliveries')).toBeLessThan(50);
  });
});
