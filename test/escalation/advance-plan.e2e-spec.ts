import { DataSource, type DataSourceOptions, type Logger } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import { AuditService } from '../../src/modules/audit/audit.service';
import { StepMoves } from '../../src/modules/chain/step-moves.repository';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import type { PlanNode } from '../helpers/plan-rows';

/** People of one grid, each on every warning below. */
const PEOPLE = 5000;
/** Earlier warnings on the same people (their chains at step 2, as a county's history leaves them). */
const EARLIER = 4;
/** Chains one advancing statement moves here (the gateway's is 2,000). */
const BATCH = 100;

/**
 * The nodes of the part of a plan that writes (a CTE that finds the rows to move is left out)
 * that read deliveries or join rows, each with the rows it handled in all its loops: returned and
 * filtered out.
 */
function writeNodes(node: PlanNode, out: { node: string; rows: number }[] = []) {
  if (node['Subplan Name']?.startsWith('CTE ')) return out;
  const perLoop =
    (node['Actual Rows'] ?? 0) +
    (node['Rows Removed by Filter'] ?? 0) +
    (node['Rows Removed by Join Filter'] ?? 0) +
    (node['Rows Removed by Index Recheck'] ?? 0);
  const deliveries =
    node['Relation Name'] === 'deliveries' || node['Index Name']?.startsWith('deliveries_');
  if (deliveries || /Join|Nested Loop/.test(node['Node Type']))
    out.push({
      node: `${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}`,
      rows: Math.round(perLoop * (node['Actual Loops'] ?? 1)),
    });
  for (const child of node.Plans ?? []) writeNodes(child, out);
  return out;
}

/**
 * A step timer moves a batch of chains by reading those chains, not every chain of the warning
 * (once per chain moved). Before, the advancing UPDATE joined its locked batch to the warning's
 * deliveries through `warnings`: depending on the statistics (which autovacuum changes between a
 * warning's deliveries being written and its timer firing, and which grow with the table), the
 * planner read every delivery of the warning for each batch, or, taking that side for a few
 * rows, compared every delivery of the warning with every row of the batch (2,000 × 20,000 per
 * statement at the bench's size: seconds each under load, while the lateness of a batch is
 * measured from its statement's start, so the first batch looked on time and the rest came
 * minutes late). The plans of the statements StepMoves runs are read back from Postgres
 * (auto_explain, sent to this client as notices); work is counted in rows, never in time.
 */
describe('step timer advance: rows a batch reads', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const plans: PlanNode[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('advance_plan');
    const setup = new DataSource(buildDataSourceOptions(db.url));
    await setup.initialize();
    await runMigrations(setup);
    // Every statement's plan with its row counts, sent to the client that ran it.
    for (const setting of [
      `session_preload_libraries = 'auto_explain'`,
      `auto_explain.log_min_duration = 0`,
      `auto_explain.log_analyze = on`,
      `auto_explain.log_timing = off`,
      `auto_explain.log_format = json`,
      `auto_explain.log_level = notice`,
    ])
      await setup.query(`ALTER DATABASE ${db.name} SET ${setting}`);
    // Statistics only as this test sets them (autovacuum would change them at a time of its own);
    // under 30,000 rows ANALYZE reads every row, so they are the same on every run.
    await setup.query(`ALTER TABLE deliveries SET (autovacuum_enabled = false)`);
    await setup.query(`
      INSERT INTO divisions (code, name, level, parent_code) VALUES
        ('51', '四川省', 'province', NULL), ('5132', '阿坝州', 'city', '51'),
        ('513221', '汶川县', 'county', '5132'), ('513221001', '映秀镇', 'township', '513221'),
        ('513221001001', '渔子溪村', 'village', '513221001');
      INSERT INTO grids (code, name, village_code) VALUES ('513221001001001', '渔子溪村第1网格', '513221001001');
      INSERT INTO people (external_id, name, role, division_code, grid_code)
        SELECT 'AP-' || i, '监测员' || i, 'group_monitor', '513221001001', '513221001001001'
          FROM generate_series(1, ${PEOPLE}) i;`);
    await setup.destroy();
    const collect: Logger = {
      logQuery: () => undefined,
      logQueryError: () => undefined,
      logQuerySlow: () => undefined,
      logSchemaBuild: () => undefined,
      logMigration: () => undefined,
      log: (level, message) => {
        const text = String(message);
        const json = text.indexOf('{');
        if (level !== 'info' || !text.includes('duration:') || json < 0) return;
        plans.push((JSON.parse(text.slice(json)) as { Plan: PlanNode }).Plan);
      },
    };
    ds = new DataSource({
      ...buildDataSourceOptions(db.url),
      logNotifications: true,
      logger: collect,
    } as DataSourceOptions);
    await ds.initialize();
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  /** A warning with every person's chain at `step`, due at `due` (SQL), in state `state`. */
  async function warning(state: string, step: number, due: string): Promise<string> {
    const [policy] = await ds.query(
      `INSERT INTO escalation_policies (name, roles, rank, steps, on_exhausted, group_rule_seconds)
       VALUES ('advance-plan', '{group_monitor}', 1,
               '[{"channels": ["sms"], "waitSeconds": 300}, {"channels": ["sms"], "waitSeconds": 3600}]',
               '{"notWoken": true, "supervisor": false, "doorToDoor": false}', NULL)
       ON CONFLICT (name) DO UPDATE SET rank = 1 RETURNING id`,
    );
    const [w] = await ds.query(
      `INSERT INTO warnings (kind, status, issuer_name, issuer_division, expires_at, fanout_done_at, state)
       VALUES ('meteorological_risk', 'exercise', 'test', '513221', now() + interval '1 day', now(), $1)
       RETURNING id`,
      [state],
    );
    await ds.query(
      `INSERT INTO warning_versions (warning_id, version, national_id, msg_type, level, audience, areas, content, sent_at)
       VALUES ($1, 1, $2, 'alert', 'orange', '{group_monitor}', '{513221001001}', $3, now())`,
      [
        w.id,
        `5132214160000${Date.now()}${Math.floor(Math.random() * 1e6)}`.padEnd(31, '0').slice(0, 31),
        JSON.stringify({ kind: 'meteorological_risk', status: 'exercise', headline: 'plan' }),
      ],
    );
    await ds.query(
      `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code,
                               policy_id, step, step_done, step_started_at, step_due_at)
       SELECT $1, p.id, 1, 'alert', p.role, p.division_code, p.grid_code, $2, $3, $3, ${due} - interval '300 seconds', ${due}
         FROM people p WHERE p.external_id LIKE 'AP-%'`,
      [w.id, policy.id, step],
    );
    return w.id as string;
  }

  it('reads the batch it moves, batch after batch, and moves each chain once', async () => {
    for (let i = 0; i < EARLIER; i++) await warning('expired', 2, `now() + interval '1 hour'`);
    const warningId = await warning('active', 1, `now() - interval '1 second'`);
    // What autovacuum does after a warning's deliveries are written: analysed, then vacuumed.
    await ds.query(`ANALYZE`);
    await ds.query(`VACUUM deliveries`);

    const steps = new StepMoves(ds, new AuditService(ds));
    const firedAt = new Date();
    plans.length = 0;
    let moved = 0;
    for (;;) {
      const batch = await steps.advanceDue({ warningId, version: 1, step: 1 }, firedAt, BATCH);
      moved += batch.length;
      if (batch.length < BATCH) break;
    }

    // The writing statements' plans: what each read besides finding its batch.
    const writes = plans.filter((p) => p['Node Type'] === 'ModifyTable');
    expect(writes.length).toBeGreaterThanOrEqual(PEOPLE / BATCH);
    const heaviest = writes.map((p) => writeNodes(p).reduce((a, b) => (b.rows > a.rows ? b : a)));
    expect(heaviest.filter((h) => h.rows > 2 * BATCH).map((h) => `${h.node}: ${h.rows}`)).toEqual(
      [],
    );

    expect(moved).toBe(PEOPLE);
    const at = await ds.query(
      `SELECT step, count(*)::int AS n FROM deliveries WHERE warning_id = $1 GROUP BY step`,
      [warningId],
    );
    expect(at).toEqual([{ step: 2, n: PEOPLE }]);
  });
});
