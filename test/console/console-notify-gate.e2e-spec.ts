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

  const issue = async (headline: string) => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await waitUntil(async () => {
      const [w] = await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]);
      return w.fanout_done_at !== null;
    }, 'fan-out done');
    return id;
  };
  /** Changes the warning's deliveries; resolves once a marker committed after it was heard. */
  let markers = 0;
  const touch = async (id: string) => {
    await t.db.query(`UPDATE deliveries SET state = state WHERE warning_id = $1`, [id]);
    const marker = `marker-${++markers}`;
    await t.db.query(`SELECT pg_notify('console_warning', $1)`, [marker]);
    await waitUntil(async () => heard.includes(marker), `${marker} heard`);
  };

  it('sends nothing for an unwatched or no longer watched warning, and notifies a watched one', async () => {
    const unwatched = await issue('通知闸门测试一');
    const expired = await issue('通知闸门测试二');
    // Never watched: nothing.
    await touch(unwatched);
    expect(heard.filter((p) => p === unwatched)).toEqual([]);
    // Its watch ran out (as when every viewer left two minutes ago): nothing.
    await t.db.query(
      `INSERT INTO console_watches (warning_id, until) VALUES ($1, now() - interval '1 second')`,
      [expired],
    );
    await touch(expired);
    expect(heard.filter((p) => p === expired)).toEqual([]);
    // Watched (as the console marks it when a viewer opens the warning): notified.
    await t.db.query(
      `INSERT INTO console_watches (warning_id, until) VALUES ($1, now() + interval '2 minutes')`,
      [unwatched],
    );
    await touch(unwatched);
    expect(heard).toContain(unwatched);
  });
});
