import { Client, type Notification } from 'pg';
import { startTestApp, type TestApp } from '../helpers/app';
import { villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

/**
 * The console's triggers notify only about warnings someone watches: a NOTIFY serialises commits
 * on Postgres's notification queue lock, so a warning nobody watches must cost its transactions
 * none. Watching marks the warning (console_watches); its changes are then notified.
 */
describe('console notifications only for watched warnings', () => {
  let t: TestApp;
  let listener: Client;
  const heard: string[] = [];

  beforeAll(async () => {
    process.env.APP_SECRET = 'console-notify-gate-secret'.padEnd(40, 'a');
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(process.env.APP_SECRET) });
    listener = new Client({ connectionString: process.env.DATABASE_URL });
    await listener.connect();
    listener.on('notification', (n: Notification) => heard.push(n.payload ?? ''));
    await listener.query('LISTEN console_warning');
  });
  afterAll(async () => {
    await listener.end();
    await t.close();
  });

  it('sends nothing for an unwatched warning, and notifies once it is watched', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '通知闸门测试' }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await waitUntil(async () => {
      const [w] = await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]);
      return w.fanout_done_at !== null;
    }, 'fan-out done');

    // Unwatched: a change to its deliveries, then a marker committed after it on the same channel.
    await t.db.query(`UPDATE deliveries SET state = state WHERE warning_id = $1`, [id]);
    await t.db.query(`SELECT pg_notify('console_warning', 'marker-1')`);
    await waitUntil(async () => heard.includes('marker-1'), 'marker 1 heard');
    expect(heard.filter((p) => p === id)).toEqual([]);

    // Watched (as the console marks it when a viewer opens the warning): notified.
    await t.db.query(
      `INSERT INTO console_watches (warning_id, until) VALUES ($1, now() + interval '2 minutes')`,
      [id],
    );
    await t.db.query(`UPDATE deliveries SET state = state WHERE warning_id = $1`, [id]);
    await waitUntil(async () => heard.includes(id), 'the watched warning notified');

    // A watch that ran out notifies nothing again.
    heard.length = 0;
    await t.db.query(`UPDATE console_watches SET until = now() - interval '1 second'`);
    await t.db.query(`UPDATE deliveries SET state = state WHERE warning_id = $1`, [id]);
    await t.db.query(`SELECT pg_notify('console_warning', 'marker-2')`);
    await waitUntil(async () => heard.includes('marker-2'), 'marker 2 heard');
    expect(heard.filter((p) => p === id)).toEqual([]);
  });
});
