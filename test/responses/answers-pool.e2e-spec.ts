import { getDataSourceToken } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { inboundSms } from '../helpers/twilio-webhooks';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'answers-pool-e2e-secret'.padEnd(40, 'a');

/**
 * Answers never wait behind a fan-out for a database connection: they have a pool of their own.
 * Here every connection of the main pool is held (as a large fan-out would hold them) while a
 * person replies; the reply is recorded and their queued sends are stopped, in one commit, before
 * the main pool is given back.
 */
describe('answers on their own connection pool', () => {
  let t: TestApp;
  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      // Calls wait behind one another (1 a second): the resident's call is still queued.
      env: { TWILIO_CALLS_PER_SECOND: '1', TWILIO_SMS_PER_SECOND: '30' },
    });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'silent');
  });
  afterAll(() => t.close());

  it('records an SMS reply and stops the person’s queued sends while the main pool is exhausted', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '连接池测试：滑坡临灾预警' }));
    expect(res.status).toBe(201);
    const warningId = res.body.id as string;
    const [resident] = await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [
      PEOPLE.resident.ext,
    ]);
    // The resident's SMS went out; something of their alert is still waiting to be sent.
    await waitUntil(async () => {
      const [row] = await t.db.query(
        `SELECT bool_or(a.channel = 'sms' AND a.provider_id IS NOT NULL) AS sent,
                count(*) FILTER (WHERE a.status = 'queued')::int AS queued
           FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
          WHERE a.warning_id = $1 AND d.person_id = $2 AND a.purpose = 'warning'`,
        [warningId, resident.id],
      );
      return row.sent === true;
    }, 'the resident’s SMS is sent');
    // Another queued send of their alert (as the next contact point of a slow step would be).
    const [delivery] = await t.db.query(
      `SELECT id FROM deliveries WHERE warning_id = $1 AND person_id = $2`,
      [warningId, resident.id],
    );
    await t.db.query(
      `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, status, purpose)
       SELECT delivery_id, warning_id, version, msg_type, 99, 'voice', 'mobile', address, priority, 'queued', 'warning'
         FROM contact_attempts WHERE delivery_id = $1 AND channel = 'sms' LIMIT 1`,
      [delivery.id],
    );

    // Hold every connection of the main pool.
    const main = t.app.get<DataSource>(getDataSourceToken());
    const pool = (main.driver as unknown as { master: Pool }).master;
    const size = (pool as unknown as { options: { max: number } }).options.max;
    const held: PoolClient[] = [];
    for (let i = 0; i < size; i++) held.push(await pool.connect());
    expect(pool.totalCount).toBe(size);
    expect(pool.idleCount).toBe(0);

    const order: string[] = [];
    const giveBack = () => {
      if (!held.length) return;
      order.push('main pool given back');
      held.splice(0).forEach((c) => c.release());
    };
    // Given back after a while whatever happens, so that a failing run ends.
    const timer = setTimeout(giveBack, 20_000);
    const reply = await inboundSms(t, PEOPLE.resident.mobile, '1');
    order.push(`reply answered ${reply.status}`);
    // Read on one of the held connections (the main pool is still held).
    let state: string | undefined;
    let queued: number | undefined;
    if (order.length === 1) {
      const { rows } = await held[0].query(
        `SELECT d.state, (SELECT count(*)::int FROM contact_attempts a
                           WHERE a.delivery_id = d.id AND a.status = 'queued' AND a.purpose = 'warning') AS queued
           FROM deliveries d WHERE d.id = $1`,
        [delivery.id],
      );
      state = rows[0].state;
      queued = rows[0].queued;
    }
    clearTimeout(timer);
    giveBack();
    expect(order[0]).toMatch(/^reply answered 20[01]$/);
    expect(state).toBe('confirmed');
    expect(queued).toBe(0);
  });
});
