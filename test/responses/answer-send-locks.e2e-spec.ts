import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Client } from 'pg';
import { AnswersService } from '../../src/modules/chain/answers.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'answer-send-locks-e2e'.padEnd(40, 'l');

/**
 * A sender holds an attempt's row (its claim or its recording), then moves the person's delivery
 * (sent). An answer moves the delivery, then stops the person's queued sends. Found in a full run
 * under load: the two waited for each other and Postgres aborted one ("deadlock detected"), here
 * the answer. The answer no longer waits for a send a sender holds: that send is no longer
 * waiting to go, and the sender sees the answer.
 */
describe('an answer and a sender holding one of the person’s sends', () => {
  let t: TestApp;
  let sender: Client;
  const sms = () => t.app.get<Queue>(getQueueToken('send-sms'), { strict: false });

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: { RECOVERY_REQUEUE_AFTER_SECONDS: '600' },
    });
    sender = new Client({ connectionString: process.env.DATABASE_URL });
    await sender.connect();
  });
  afterAll(async () => {
    await sender.end();
    await sms().resume();
    await t.close();
  });

  it('records the answer without waiting for the held send, and no deadlock aborts either side', async () => {
    // The SMS stay queued: the person has sends waiting when they answer.
    await sms().pause();
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '渔子溪村滑坡临灾预警（锁序）' }));
    expect(res.status).toBe(201);
    const warningId = res.body.id as string;
    const queued = await waitUntil(async () => {
      const rows: { id: string; deliveryId: string }[] = await t.db.query(
        `SELECT a.id, a.delivery_id AS "deliveryId" FROM contact_attempts a
           JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
          WHERE a.warning_id = $1 AND p.external_id = $2 AND a.status = 'queued' AND a.channel = 'sms'`,
        [warningId, PEOPLE.gridLeader.ext],
      );
      return rows[0];
    }, "the grid leader's queued SMS");

    // A sender takes the attempt's row, as a claim does.
    await sender.query('BEGIN');
    await sender.query(`SELECT id FROM contact_attempts WHERE id = $1 FOR UPDATE`, [queued.id]);
    try {
      const answer = t.app.get(AnswersService).record({
        deliveryId: queued.deliveryId,
        kind: 'confirm',
        channel: 'link',
        dedupeKey: `send-locks-${queued.deliveryId}`,
      });
      let settled = false;
      void answer.finally(() => (settled = true)).catch(() => undefined);
      // The answer commits while the sender still holds the attempt (before: it waited on it).
      await waitUntil(async () => settled || undefined, 'the answer recorded', 15_000);
      await expect(answer).resolves.toMatchObject({ effective: true, state: 'confirmed' });
      // The sender then moves the delivery, as its recording does: no deadlock, no wait.
      await sender.query(`UPDATE deliveries SET state = state WHERE id = $1`, [queued.deliveryId]);
      await sender.query('COMMIT');
    } finally {
      await sender.query('ROLLBACK').catch(() => undefined);
    }
    // The held send was not cancelled by the answer (a sender had it); every other waiting one was.
    const rows: { id: string; status: string }[] = await t.db.query(
      `SELECT id, status FROM contact_attempts WHERE delivery_id = $1 AND purpose = 'warning'`,
      [queued.deliveryId],
    );
    expect(rows.find((r) => r.id === queued.id)?.status).toBe('queued');
    expect(rows.filter((r) => r.id !== queued.id && r.status === 'queued')).toEqual([]);
  });
});
