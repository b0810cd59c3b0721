import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { EscalationService } from '../../src/modules/dispatch/escalation.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { dbFault } from '../helpers/db-fault';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';
import { stepTimerJobs } from '../helpers/step-timers';

const APP_SECRET = 'escalation-recovery-secret'.padEnd(40, 'e');

/** One short step for everyone, then the supervisor: a chain is exhausted in seconds. */
const FAST_CHAINS = `
  UPDATE escalation_policies SET steps = '[{"channels": ["sms"], "waitSeconds": 5}]',
         on_exhausted = '{"notWoken": true, "supervisor": true, "doorToDoor": false}', group_rule_seconds = NULL;`;

/** The database refuses every new escalation, as if it went away at that moment. */
const FAULT = dbFault('test_refuse_escalation', 'escalations', 'INSERT');

describe('叫应 follow-ups survive faults between the timer and the escalation', () => {
  let t: TestApp;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) + FAST_CHAINS });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
  });
  afterAll(() => t.close());

  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });

  async function issue(headline: string): Promise<string> {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(imminentWarning({ headline, audience: ['village_responsible'] }));
    expect(res.status).toBe(201);
    return res.body.id;
  }

  const chief = async (warningId: string) =>
    (
      await t.db.query(
        `SELECT d.id, d.step, d.step_done, d.state FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 AND p.external_id = $2`,
        [warningId, PEOPLE.villageChief.ext],
      )
    )[0];

  /** The supervisor's escalation from this delivery, and whether their own chain has started. */
  const supervisorReached = async (fromDeliveryId: string, reason: string) => {
    const [edge] = await t.db.query(
      `SELECT p.external_id AS ext, td.policy_id IS NOT NULL AS chain,
              (SELECT count(*)::int FROM contact_attempts a WHERE a.delivery_id = td.id) AS attempts
         FROM escalations e JOIN deliveries td ON td.id = e.to_delivery_id JOIN people p ON p.id = td.person_id
        WHERE e.from_delivery_id = $1 AND e.reason = $2`,
      [fromDeliveryId, reason],
    );
    return edge?.attempts > 0 ? edge : undefined;
  };

  /** Waits until the chief's step timer advanced the step but could not escalate. */
  async function stuckAfterTimer(warningId: string) {
    return waitUntil(async () => {
      const d = await chief(warningId);
      return d?.step === 2 && d.step_done === 1 ? d : undefined;
    }, 'step advanced, follow-up not done');
  }

  it('a retried step timer carries out the escalation its first run could not', async () => {
    await t.db.query(FAULT.on);
    const id = await issue('渔子溪村滑坡临灾预警（计时器重试）');
    const d = await stuckAfterTimer(id);
    await t.db.query(FAULT.off);
    // The timer job's own retry (backoff 1 s, 2 s, …) finds the step advanced but not done.
    const edge = await waitUntil(
      () => supervisorReached(d.id, 'not_woken'),
      'supervisor escalated by the retried timer',
    );
    expect(edge).toMatchObject({ ext: PEOPLE.townshipChief.ext, chain: true });
    // The chain is marked done once its follow-ups are carried out, just after the edge is written.
    await waitUntil(async () => (await chief(id)).step_done === 2, 'the step marked done');
    expect((await chief(id)).step_done).toBe(2);
    // Exactly one escalation, one audit event for it.
    const audit = await t.db.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE warning_id = $1 AND action = 'escalation.created'`,
      [id],
    );
    expect(audit[0].n).toBe(1);
  });

  it('the recovery sweep carries out a follow-up whose timer is gone', async () => {
    const sweep = t.app.get(EscalationService, { strict: false });
    const queue: Queue = t.app.get(getQueueToken('escalation'), { strict: false });
    await t.db.query(FAULT.on);
    const id = await issue('渔子溪村滑坡临灾预警（计时器丢失）');
    const d = await stuckAfterTimer(id);
    // Its retries are lost with the queue data.
    await waitUntil(async () => {
      for (const job of await stepTimerJobs(queue, id, 1)) {
        const removed = await job
          .remove()
          .then(() => true)
          .catch(() => false);
        if (!removed) return undefined;
      }
      return true;
    }, 'timer jobs removed');
    await t.db.query(FAULT.off);

    // Recent: the sweep leaves it to a timer that may still be running.
    await sweep.recover();
    expect(await supervisorReached(d.id, 'not_woken')).toBeUndefined();

    await t.db.query(
      `UPDATE deliveries SET step_started_at = now() - interval '5 minutes' WHERE id = $1`,
      [d.id],
    );
    await sweep.recover();
    expect(await supervisorReached(d.id, 'not_woken')).toMatchObject({
      ext: PEOPLE.townshipChief.ext,
      chain: true,
    });
    expect((await chief(id)).step_done).toBe(2);
    // Once done, the sweep does not do it again.
    await sweep.recover();
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts a JOIN deliveries td ON td.id = a.delivery_id
         JOIN people p ON p.id = td.person_id WHERE td.warning_id = $1 AND p.external_id = $2`,
      [id, PEOPLE.townshipChief.ext],
    );
    expect(n).toBe(1);
  });

  it('the recovery sweep takes a request for help to the supervisor when the first try failed', async () => {
    const sweep = t.app.get(EscalationService, { strict: false });
    const id = await issue('渔子溪村滑坡临灾预警（求助）');
    const d = await waitUntil(async () => chief(id), 'chief on the warning');
    const [{ id: personId }] = await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [
      PEOPLE.villageChief.ext,
    ]);
    await t.db.query(FAULT.on);
    const res = await t
      .http()
      .post(`/v1/warnings/${id}/people/${personId}/confirm`)
      .set(duty())
      .send({ reason: '村主任来电：道路中断，需要支援', kind: 'help' });
    // The answer is kept even though alerting the supervisor failed.
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'help', effective: true, state: 'declined' });
    await t.db.query(FAULT.off);
    expect(await supervisorReached(d.id, 'help_requested')).toBeUndefined();

    // The request for help, as if asked two minutes ago.
    await t.db.query(
      `UPDATE deliveries SET help_requested_at = now() - interval '2 minutes' WHERE id = $1`,
      [d.id],
    );
    await sweep.recover();
    expect(await supervisorReached(d.id, 'help_requested')).toMatchObject({
      ext: PEOPLE.townshipChief.ext,
    });
  });
});
