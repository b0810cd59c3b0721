import { Client } from 'pg';
import { AnswersService } from '../../src/modules/chain/answers.service';
import { NoticesRepository } from '../../src/modules/chain/notices.repository';
import { StepMoves } from '../../src/modules/chain/step-moves.repository';
import { EscalationService } from '../../src/modules/dispatch/escalation.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'edge-answer-race-e2e-secret'.padEnd(40, 'r');
/** The advisory lock the test holds and the test-only trigger waits on (keys of its own). */
const HOLD = [7_263_999, 1] as const;

/**
 * An escalation edge about a person (`escalations.from_delivery_id` = their delivery) opened while
 * that person's confirmation is recorded: the edge must end resolved whichever commits first, so
 * that no notice to the superior ever reports as silent someone who answered. The interleavings
 * are made by hand, without sleeps: a trigger installed by the test (never in src/) holds the
 * edge's INSERT on an advisory lock the test's own connection holds, and `pg_blocking_pids` tells
 * when a side is waiting.
 */
describe('an escalation edge about a person and their confirmation, racing', () => {
  let t: TestApp;
  let holder: Client;
  let holderPid: number;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });

  const issue = async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(imminentWarning({ headline: '竞态测试：滑坡临灾预警' }));
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const delivery = (warningId: string, ext: string) =>
    waitUntil(async () => {
      const [d] = await t.db.query(
        `SELECT d.id, d.warning_id AS "warningId", d.person_id AS "personId", d.state
           FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 AND p.external_id = $2`,
        [warningId, ext],
      );
      return d as { id: string; warningId: string; personId: string; state: string } | undefined;
    }, `${ext}'s delivery`);
  const edgesFrom = async (deliveryId: string) =>
    (await t.db.query(
      `SELECT id, reason, resolved_at AS "resolvedAt", resolution FROM escalations WHERE from_delivery_id = $1`,
      [deliveryId],
    )) as { id: string; reason: string; resolvedAt: Date | null; resolution: string | null }[];
  const resolvedEvents = async (deliveryId: string) =>
    (
      (await t.db.query(
        `SELECT data FROM audit_events WHERE action = 'escalations.resolved' AND subject_id = $1 ORDER BY id`,
        [deliveryId],
      )) as { data: { escalationIds: string[]; resolution: string } }[]
    ).map((e) => e.data);
  /** Backends waiting on a lock `pid` holds. */
  const waitingOn = async (pid: number) =>
    (
      await holder.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))`,
        [pid],
      )
    ).rows.map((r) => r.pid);

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) });
    // Nobody answers on their own: the test records the answers.
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
    holder = new Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    holderPid = (await holder.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows[0].pid;
    await holder.query(
      `CREATE FUNCTION test_hold_edge() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_advisory_xact_lock(${HOLD[0]}, ${HOLD[1]}); RETURN NEW; END $$`,
    );
  });
  afterAll(async () => {
    await holder?.query(`DROP FUNCTION IF EXISTS test_hold_edge() CASCADE`).catch(() => undefined);
    await holder?.end();
    await t?.close();
  });

  it('an edge opened (uncommitted) while the person confirms is resolved once both commit', async () => {
    const warningId = await issue();
    const subject = await delivery(warningId, PEOPLE.resident.ext);
    const chief = await delivery(warningId, PEOPLE.villageChief.ext);
    await holder.query(
      `CREATE TRIGGER test_hold_edge BEFORE INSERT ON escalations FOR EACH ROW
         WHEN (NEW.from_delivery_id = '${subject.id}'::uuid) EXECUTE FUNCTION test_hold_edge()`,
    );
    try {
      await holder.query(`SELECT pg_advisory_lock($1, $2)`, [...HOLD]);
      // The edge is being opened: its INSERT waits on the test's lock, in openEdge's transaction.
      const opening = t.app
        .get(StepMoves)
        .openEdge(
          subject,
          { deliveryId: chief.id, personId: chief.personId, newDelivery: false },
          'not_woken',
        );
      const openerPid = await waitUntil(
        async () => (await waitingOn(holderPid))[0],
        'openEdge waiting on the test’s lock',
      );
      // The person confirms meanwhile: recorded at once, or waiting on the edge's transaction.
      let settled = false;
      const answering = t.app.get(AnswersService).record({
        deliveryId: subject.id,
        kind: 'confirm',
        channel: 'link',
        dedupeKey: `race-a-${subject.id}`,
      });
      answering.then(
        () => (settled = true),
        () => (settled = true),
      );
      const waited = await waitUntil(
        async () => (settled ? 'recorded' : (await waitingOn(openerPid)).length > 0 && 'waited'),
        'the confirmation recorded or waiting on the edge’s transaction',
      );
      await holder.query(`SELECT pg_advisory_unlock($1, $2)`, [...HOLD]);
      const [edge, answer] = await Promise.all([opening, answering]);
      expect(answer).toMatchObject({ effective: true, state: 'confirmed' });

      const [row] = await edgesFrom(subject.id);
      expect(row).toMatchObject({ id: edge!.id, reason: 'not_woken' });
      expect(row.resolution).toBe('subject_answered');
      expect(row.resolvedAt).not.toBeNull();
      expect(await resolvedEvents(subject.id)).toContainEqual({
        escalationIds: [edge!.id],
        resolution: 'subject_answered',
      });
      // The confirmation waited for the edge's transaction (its subject's row lock), then saw it.
      expect(waited).toBe('waited');
      // A notice to the superior finds nobody silent to report.
      expect(
        await t.app
          .get(NoticesRepository)
          .queue(
            chief.id,
            [{ channel: 'sms', contactKind: 'mobile', address: PEOPLE.villageChief.mobile }],
            1,
          ),
      ).toEqual([]);
    } finally {
      await holder.query(`SELECT pg_advisory_unlock_all()`);
      await holder.query(`DROP TRIGGER IF EXISTS test_hold_edge ON escalations`);
    }
  });

  it('an edge opened after the person’s confirmation committed is not left open, and no notice goes out', async () => {
    const warningId = await issue();
    const subject = await delivery(warningId, PEOPLE.deadMobile.ext);
    const chief = await delivery(warningId, PEOPLE.villageChief.ext);
    const answer = await t.app.get(AnswersService).record({
      deliveryId: subject.id,
      kind: 'confirm',
      channel: 'link',
      dedupeKey: `race-b-${subject.id}`,
    });
    expect(answer).toMatchObject({ effective: true, state: 'confirmed' });

    // The escalation of a chain that had run out before the answer, carried out after it.
    await t.app.get(EscalationService).escalateTo(subject, chief.personId, 'not_woken');

    const edges = await edgesFrom(subject.id);
    expect(edges).toHaveLength(1);
    expect(edges[0].resolution).toBe('subject_answered');
    expect(edges[0].resolvedAt).not.toBeNull();
    expect(await resolvedEvents(subject.id)).toContainEqual({
      escalationIds: [edges[0].id],
      resolution: 'subject_answered',
    });
    // Nothing was queued to the superior about someone who answered.
    const notices = await t.db.query(
      `SELECT id, status FROM contact_attempts WHERE delivery_id = $1 AND purpose = 'notice'`,
      [chief.id],
    );
    expect(notices).toEqual([]);
  });
  it('a door-to-door task’s edge written after the person’s confirmation committed is resolved, and the task closed', async () => {
    const warningId = await issue();
    const subject = await delivery(warningId, PEOPLE.resident.ext);
    const answer = await t.app.get(AnswersService).record({
      deliveryId: subject.id,
      kind: 'confirm',
      channel: 'link',
      dedupeKey: `race-c-${subject.id}`,
    });
    expect(answer).toMatchObject({ effective: true, state: 'confirmed' });
    // The task of a chain that had run out before the answer, assigned after it (as the
    // escalation assigns it) and then linked to the person by its edge.
    const [task] = await t.db.query(
      `INSERT INTO manual_tasks (warning_id, type, grid_code, assignee_id, subject_delivery_id, reason, created_by)
       SELECT d.warning_id, 'door_to_door', p.grid_code, (SELECT id FROM people WHERE external_id = $2), d.id, 'test', 'escalation'
         FROM deliveries d JOIN people p ON p.id = d.person_id WHERE d.id = $1
       RETURNING id`,
      [subject.id, PEOPLE.gridLeader.ext],
    );
    await t.app.get(StepMoves).openTaskEdge(subject, task.id);

    const edges = await edgesFrom(subject.id);
    expect(edges).toHaveLength(1);
    expect(edges[0]).toMatchObject({ reason: 'not_woken', resolution: 'subject_answered' });
    const [closed] = await t.db.query(`SELECT status, outcome FROM manual_tasks WHERE id = $1`, [
      task.id,
    ]);
    expect(closed).toEqual({ status: 'cancelled', outcome: 'subject_answered' });
    expect(await resolvedEvents(subject.id)).toContainEqual({
      escalationIds: [edges[0].id],
      resolution: 'subject_answered',
    });
  });
});
