import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import { AuditService } from '../../src/modules/audit/audit.service';
import { DispatchRepository } from '../../src/modules/dispatch/dispatch.repository';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/**
 * The senders' shared read-and-claim (DispatchRepository.claimReadyAttempts) on real Postgres:
 * it claims, and returns with their person, what may go out as it is, and leaves every other
 * attempt untouched for the one-by-one path (SendAttemptService.checkAndClaim).
 */
describe('claiming the attempts that may go out as they are, in one statement', () => {
  let tdb: TestDatabase;
  let ds: DataSource;
  let repo: DispatchRepository;

  beforeAll(async () => {
    tdb = await createTestDatabase('claim_ready');
    ds = new DataSource(buildDataSourceOptions(tdb.url));
    await ds.initialize();
    await runMigrations(ds);
    repo = new DispatchRepository(ds, new AuditService(ds));
  });
  afterAll(async () => {
    await ds?.destroy();
    await tdb?.drop();
  });

  /** A warning in `state` with one delivery per person (in the given state) and their attempts. */
  async function warningWith(
    state: 'active' | 'cancelled',
    people: { name: string; delivery: string; attempt: Record<string, unknown> }[],
  ) {
    const [w] = await ds.query(
      `INSERT INTO warnings (kind, status, issuer_name, issuer_division, expires_at, state)
       VALUES ('meteorological_risk', 'actual', 'test', '513221', now() + interval '1 day', $1) RETURNING id`,
      [state],
    );
    const ids: Record<string, string> = {};
    for (const p of people) {
      const [person] = await ds.query(
        `INSERT INTO people (external_id, name, role, division_code, grid_code)
         VALUES ($1, $2, 'grid_leader', '513221001001', '513221001001001') RETURNING id`,
        [`CR-${p.name}-${w.id}`, p.name],
      );
      const [d] = await ds.query(
        `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code, state)
         VALUES ($1, $2, 1, 'alert', 'grid_leader', '513221001001', '513221001001001', $3) RETURNING id`,
        [w.id, person.id, p.delivery],
      );
      let taskId: string | null = null;
      if (p.attempt.task) {
        const [t] = await ds.query(
          `INSERT INTO manual_tasks (warning_id, type, grid_code, status, created_by)
           VALUES ($1, 'door_to_door', '513221001001001', $2, 'test') RETURNING id`,
          [w.id, p.attempt.task],
        );
        taskId = t.id;
      }
      const [a] = await ds.query(
        `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind,
                                       address, priority, status, purpose, task_id)
         VALUES ($1, $2, 1, $3, 0, $4, 'mobile', '+8613900000001', 1, $5, $6, $7) RETURNING id`,
        [
          d.id,
          w.id,
          p.attempt.msgType ?? 'alert',
          taskId ? 'manual' : 'sms',
          p.attempt.status ?? 'queued',
          p.attempt.purpose ?? 'warning',
          taskId,
        ],
      );
      ids[p.name] = a.id;
    }
    return ids;
  }

  it('claims queued alerts of people who have not answered, releases and open tasks; leaves the rest alone', async () => {
    await ds.query(`
      INSERT INTO divisions (code, name, level, parent_code) VALUES
        ('51', '四川省', 'province', NULL), ('5132', '阿坝州', 'city', '51'),
        ('513221', '汶川县', 'county', '5132'), ('513221001', '映秀镇', 'township', '513221'),
        ('513221001001', '渔子溪村', 'village', '513221001');
      INSERT INTO grids (code, name, village_code) VALUES ('513221001001001', '第1网格', '513221001001');`);
    const active = await warningWith('active', [
      { name: '甲', delivery: 'pending', attempt: {} },
      { name: '乙', delivery: 'sent', attempt: { status: 'sending' } },
      { name: '丙', delivery: 'confirmed', attempt: {} },
      { name: '丁', delivery: 'pending', attempt: { status: 'sent' } },
      { name: '戊', delivery: 'pending', attempt: { purpose: 'notice' } },
      { name: '己', delivery: 'confirmed', attempt: { purpose: 'task', task: 'open' } },
      { name: '庚', delivery: 'confirmed', attempt: { purpose: 'task', task: 'done' } },
    ]);
    const ended = await warningWith('cancelled', [
      { name: '辛', delivery: 'pending', attempt: {} },
      { name: '壬', delivery: 'sent', attempt: { msgType: 'cancel' } },
    ]);
    const all = { ...active, ...ended };
    const before = new Map<string, { status: string; tries: number }>(
      (
        await ds.query(
          `SELECT id, status, tries FROM contact_attempts WHERE id = ANY($1::uuid[])`,
          [Object.values(all)],
        )
      ).map((r: { id: string; status: string; tries: number }) => [r.id, r]),
    );

    const claimed = await repo.claimReadyAttempts(Object.values(all));

    const byName = new Map(claimed.map((a) => [a.personName, a]));
    // Queued or retried alerts of people still waiting, the open task's SMS, a release.
    expect([...byName.keys()].sort()).toEqual(['乙', '壬', '己', '甲'].sort());
    for (const a of claimed) {
      expect(a).toMatchObject({ status: 'sending', tries: before.get(a.id)!.tries + 1 });
      expect(a.id).toBe(all[a.personName]);
    }
    expect(byName.get('甲')).toMatchObject({
      channel: 'sms',
      purpose: 'warning',
      deliveryState: 'pending',
      warningState: 'active',
      personRole: 'grid_leader',
      address: '+8613900000001',
    });
    expect(byName.get('己')).toMatchObject({ purpose: 'task', taskStatus: 'open' });
    expect(byName.get('壬')).toMatchObject({ msgType: 'cancel', warningState: 'cancelled' });

    // An answered person's alert, a sent one, a notice, a closed task's SMS, an ended warning's
    // alert: not touched (the one-by-one path cancels or skips them with their reason).
    const after = await ds.query(
      `SELECT id, status, tries FROM contact_attempts WHERE id = ANY($1::uuid[])`,
      [['丙', '丁', '戊', '庚', '辛'].map((n) => all[n])],
    );
    expect(after).toHaveLength(5);
    for (const r of after) expect(r).toEqual({ id: r.id, ...before.get(r.id) });

    // Claimed again (a retried job) they are claimed once more; asked for nothing, nothing.
    expect((await repo.claimReadyAttempts([all['甲']])).map((a) => a.tries)).toEqual([2]);
    expect(await repo.claimReadyAttempts([])).toEqual([]);
  });
});
