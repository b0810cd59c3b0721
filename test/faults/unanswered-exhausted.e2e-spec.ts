import { TasksService } from '../../src/modules/tasks/tasks.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { replacePolicy, responsiblePolicy } from '../helpers/policies';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'unanswered-exhausted-secret'.padEnd(40, 'u');

/** The imminent warnings' policy for responsible persons: one step (SMS and call), no follow-up. */
function oneStepPolicy(voiceRetries?: { times: number; withinSeconds: number }) {
  return {
    ...responsiblePolicy({
      steps: [
        { channels: ['sms', 'voice'], waitSeconds: 120, ...(voiceRetries ? { voiceRetries } : {}) },
      ],
      onExhausted: { notWoken: false, supervisor: false, doorToDoor: false },
      groupRuleSeconds: null,
    }),
    name: '临灾预警-责任人',
    kinds: ['imminent'],
    levels: [],
    rank: 10,
  };
}

/** An imminent warning to the village, issued by the duty officer; its id. */
async function issue(t: TestApp): Promise<string> {
  const res = await t
    .http()
    .post('/v1/warnings')
    .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
    .send(imminentWarning());
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/**
 * Found by the fault suite (in every scenario, faults or not): a person whose SMS came back
 * undelivered while their call was still ringing, and whose call (and its retries) then went
 * unanswered, stayed `sent` for good: not reached, and not unreachable either, so nobody was told
 * why. The failed SMS found the call still under way; the unanswered call never asked again
 * whether anything could still reach the person.
 */
describe('every contact of a person failed or went unanswered', () => {
  let t: TestApp;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) });
    await replacePolicy(t, oneStepPolicy({ times: 1, withinSeconds: 2 }));
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
    // Phone off: the SMS comes back undelivered (30003) and calls ring out unanswered.
    t.sandbox!.carrier.setProfile(PEOPLE.gridLeader.mobile, 'unreachable');
  });
  afterAll(() => t.close());

  it('is unreachable, with the reason, once the last call goes unanswered', async () => {
    const id = await issue(t);
    const [{ delivery }] = await waitUntil(async () => {
      const r: { delivery: string }[] = await t.db.query(
        `SELECT d.id AS delivery FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 AND p.external_id = $2`,
        [id, PEOPLE.gridLeader.ext],
      );
      return r.length ? r : undefined;
    }, 'the grid leader fanned out');
    // The SMS and both calls (the first and its retry) all failed.
    await waitUntil(async () => {
      const r: { channel: string; status: string }[] = await t.db.query(
        `SELECT channel, status FROM contact_attempts WHERE delivery_id = $1`,
        [delivery],
      );
      return r.filter((a) => a.channel === 'voice' && a.status === 'failed').length === 2 &&
        r.every((a) => a.status === 'failed')
        ? r
        : undefined;
    }, 'every attempt failed');
    const state = await waitUntil(
      async () => {
        const [d] = await t.db.query(`SELECT state FROM deliveries WHERE id = $1`, [delivery]);
        return d.state === 'unreachable' ? d.state : undefined;
      },
      'the grid leader unreachable',
      15_000,
    );
    expect(state).toBe('unreachable');
    const events = await t.db.query(
      `SELECT data ->> 'reason' AS reason FROM audit_events
        WHERE action = 'delivery.unreachable' AND subject_id = $1`,
      [delivery],
    );
    expect(events).toEqual([{ reason: 'contacts_exhausted' }]);
  });
});

/**
 * Found by the 20k fault suite: a group monitor whose SMS came back undelivered and whose calls
 * went unanswered had been given a door-to-door task about someone else; the task's SMS (carried
 * by the monitor's own delivery) came back undelivered after the monitor's last call had failed.
 * The last call found the task SMS still under way; the failed task SMS never asked again whether
 * anything could still reach the monitor, who stayed `sent` for good (1 of 20,416 people
 * unaccounted).
 */
describe('a task SMS to a person nobody reached fails last', () => {
  let t: TestApp;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) });
    await replacePolicy(t, oneStepPolicy());
    // Every phone off: SMS come back undelivered (30003), calls ring out unanswered.
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'unreachable');
  });
  afterAll(() => t.close());

  it('is unreachable, with the reason, once the task SMS fails', async () => {
    const id = await issue(t);
    const deliveryOf = async (ext: string) => {
      const [d]: { id: string; state: string; personId: string }[] = await t.db.query(
        `SELECT d.id, d.state, d.person_id AS "personId" FROM deliveries d
           JOIN people p ON p.id = d.person_id WHERE d.warning_id = $1 AND p.external_id = $2`,
        [id, ext],
      );
      return d;
    };
    // Every own contact of the grid leader and of the village chief failed.
    const [leader] = await waitUntil(async () => {
      const ds = await Promise.all(
        [PEOPLE.gridLeader.ext, PEOPLE.villageChief.ext].map(deliveryOf),
      );
      return ds.every((d) => d?.state === 'unreachable') ? ds : undefined;
    }, 'the grid leader and the village chief unreachable');
    const resident = await deliveryOf(PEOPLE.resident.ext);
    // As in the fault run: the grid leader's task SMS was still under way when their last call
    // failed, so they were left `sent`; then the task SMS fails too.
    await t.db.query(`UPDATE deliveries SET state = 'sent' WHERE id = $1`, [leader.id]);
    const task = await t.app
      .get(TasksService)
      .assign(
        id,
        { type: 'door_to_door', grid: '513221001001001', personId: resident.personId },
        'escalation',
      );
    expect(task.assigneeId).toBe(leader.personId);
    const state = await waitUntil(
      async () => {
        const d = await deliveryOf(PEOPLE.gridLeader.ext);
        return d.state === 'unreachable' ? d.state : undefined;
      },
      'the grid leader unreachable again',
      20_000,
    );
    expect(state).toBe('unreachable');
    const [manual] = await t.db.query(
      `SELECT status, outcome FROM contact_attempts WHERE id = $1`,
      [task.attemptId],
    );
    expect(manual).toEqual({ status: 'failed', outcome: 'undelivered' });
    const events = await t.db.query(
      `SELECT data ->> 'reason' AS reason FROM audit_events
        WHERE action = 'delivery.unreachable' AND subject_id = $1 ORDER BY id`,
      [leader.id],
    );
    expect(events).toEqual([{ reason: 'contacts_exhausted' }, { reason: 'contacts_exhausted' }]);
  });
});
