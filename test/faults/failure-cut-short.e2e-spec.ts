import { startTestApp, type TestApp } from '../helpers/app';
import { dbFault } from '../helpers/db-fault';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { replacePolicy, responsiblePolicy } from '../helpers/policies';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'failure-cut-short-secret'.padEnd(40, 'c');

/**
 * Found by the fault suite (Postgres outage during sends): a person's last failed attempt was
 * recorded, then the database went away before their failure was handled (fail over, or
 * unreachable); the provider does not post a callback again, so they stayed `sent` for good with
 * every attempt failed. The recovery sweep now carries out what was cut short.
 */
describe('failure handling cut short by the database going away', () => {
  let t: TestApp;
  const fault = dbFault('unreachable_lost', 'deliveries', 'UPDATE', `NEW.state = 'unreachable'`);

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: { RECOVERY_INTERVAL_MS: '1000' },
    });
    const imminentResponsible = {
      ...responsiblePolicy({
        steps: [{ channels: ['sms', 'voice'], waitSeconds: 300 }],
        onExhausted: { notWoken: false, supervisor: false, doorToDoor: false },
        groupRuleSeconds: null,
      }),
      name: '临灾预警-责任人',
      kinds: ['imminent'],
      levels: [],
      rank: 10,
    };
    await replacePolicy(t, imminentResponsible);
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
    t.sandbox!.carrier.setProfile(PEOPLE.gridLeader.mobile, 'unreachable');
  });
  afterAll(() => t.close());

  it('is carried out by the recovery sweep: the person is unreachable, with the reason', async () => {
    await t.db.query(fault.on);
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning());
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const delivery = await waitUntil(async () => {
      const r: { id: string }[] = await t.db.query(
        `SELECT d.id FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 AND p.external_id = $2`,
        [id, PEOPLE.gridLeader.ext],
      );
      return r[0]?.id;
    }, 'the grid leader fanned out');
    await waitUntil(async () => {
      const r: { status: string }[] = await t.db.query(
        `SELECT status FROM contact_attempts WHERE delivery_id = $1`,
        [delivery],
      );
      return r.length === 2 && r.every((a) => a.status === 'failed');
    }, 'both attempts failed');
    // The failure handling ran into the fault; the database is back.
    await new Promise((r) => setTimeout(r, 1_000));
    await t.db.query(fault.off);
    const [before] = await t.db.query(`SELECT state FROM deliveries WHERE id = $1`, [delivery]);
    expect(before.state).toBe('sent');
    await waitUntil(
      async () => {
        const [d] = await t.db.query(`SELECT state FROM deliveries WHERE id = $1`, [delivery]);
        return d.state === 'unreachable';
      },
      'the grid leader unreachable',
      90_000,
    );
    const events = await t.db.query(
      `SELECT data ->> 'reason' AS reason FROM audit_events
        WHERE action = 'delivery.unreachable' AND subject_id = $1`,
      [delivery],
    );
    expect(events).toEqual([{ reason: 'contacts_exhausted' }]);
  });
});
