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
/** A second such lock: holds a confirmation's commit after what it resolved (test-only trigger). */
const HOLD_COMMIT = [7_263_999, 2] as const;
const GRID = '513221001001001';
/** The first key of a grid's answers lock (`gridAnswersLockSql`). */
const GRID_ANSWERS_LOCK = 7_263_301;
/** Grid 1's responsible persons besides its grid leader: two group monitors. */
const MONITOR_1 = { ext: 'P-EGM1', name: '周监测', mobile: '+8613800000016' };
const MONITOR_2 = { ext: 'P-EGM2', name: '吴监测', mobile: '+8613800000018' };
const monitorsSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${MONITOR_1.ext}', '${MONITOR_1.name}', 'group_monitor', '513221001001', '${GRID}'),
    ('${MONITOR_2.ext}', '${MONITOR_2.name}', 'group_monitor', '513221001001', '${GRID}');
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ('${MONITOR_1.ext}', '${MONITOR_1.mobile}'), ('${MONITOR_2.ext}', '${MONITOR_2.mobile}')
    ) AS c(ext, mobile) ON c.ext = people.external_id;`;

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
  /**
   * A warning whose fan-out is done (a grid's group rule is timed from there): no fan-out statement
   * moves the grid's deliveries during a case.
   */
  const issueAndFanOut = async () => {
    const id = await issue();
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]))[0]
          .fanout_done_at as Date | null,
      'the fan-out done',
    );
    return id;
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

  /**
   * Answers (their statement: `ChainMoves.answerStep`) waiting on a lock `pid` holds, directly or
   * behind another backend waiting on it (a carrier receipt moving the same delivery may be ahead
   * in the row's queue); not the app's other work the same rows hold up meanwhile.
   */
  const answersWaitingOn = async (pid: number) =>
    (
      await holder.query<{ pid: number }>(
        `WITH RECURSIVE w(pid) AS (
           SELECT $1::int
           UNION
           SELECT a.pid FROM pg_stat_activity a JOIN w ON w.pid = ANY(pg_blocking_pids(a.pid)))
         SELECT a.pid FROM pg_stat_activity a JOIN w ON w.pid = a.pid
          WHERE a.pid <> $1 AND a.query ILIKE '%INSERT INTO answers%'`,
        [pid],
      )
    ).rows.map((r) => r.pid);
  /**
   * Backends waiting on the test's commit hold (a confirmation that resolved what it saw) or on a
   * grid's answers lock (a confirmation behind another of its grid).
   */
  const heldConfirmations = async () =>
    (
      await holder.query<{ pid: number }>(
        `SELECT DISTINCT pid FROM pg_locks
          WHERE NOT granted AND locktype = 'advisory'
            AND ((classid = $1 AND objid = $2) OR classid = $3)`,
        [HOLD_COMMIT[0], HOLD_COMMIT[1], GRID_ANSWERS_LOCK],
      )
    ).rows.map((r) => r.pid);
  /** The group rule of grid 1 recorded as not met (as its timer records it): `required` confirmations. */
  const ruleNotMet = (warningId: string, required: number, rule: Record<string, unknown>) =>
    t.db.query(
      `INSERT INTO group_rule_outcomes (warning_id, version, grid_code, rule, required, total, confirmed, met, unconfirmed)
       SELECT $1, 1, $2, $3, $4, count(*), 0, false, array_agg(d.person_id)
         FROM deliveries d WHERE d.warning_id = $1 AND d.grid_code = $2 AND d.role <> 'resident'`,
      [warningId, GRID, JSON.stringify(rule), required],
    );
  /** The `escalations.resolved` events that name the edge. */
  const resolvedEventsOf = async (edgeId: string) =>
    (
      (await t.db.query(
        `SELECT subject_id AS "subjectId", data FROM audit_events
          WHERE action = 'escalations.resolved' AND data -> 'escalationIds' ? $1 ORDER BY id`,
        [edgeId],
      )) as { subjectId: string; data: { escalationIds: string[]; resolution: string } }[]
    ).map((e) => ({ subjectId: e.subjectId, ...e.data }));
  const noticesTo = (deliveryId: string) =>
    t.db.query(
      `SELECT id, status FROM contact_attempts WHERE delivery_id = $1 AND purpose = 'notice'`,
      [deliveryId],
    );

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + monitorsSql,
    });
    // Nobody answers on their own: the test records the answers.
    for (const p of [...Object.values(PEOPLE), MONITOR_1, MONITOR_2])
      t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
    holder = new Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    holderPid = (await holder.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows[0].pid;
    await holder.query(
      `CREATE FUNCTION test_hold_edge() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_advisory_xact_lock(${HOLD[0]}, ${HOLD[1]}); RETURN NEW; END $$`,
    );
    await holder.query(
      `CREATE FUNCTION test_hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_advisory_xact_lock(${HOLD_COMMIT[0]}, ${HOLD_COMMIT[1]}); RETURN NEW; END $$`,
    );
  });
  afterAll(async () => {
    await holder?.query(`DROP FUNCTION IF EXISTS test_hold_edge() CASCADE`).catch(() => undefined);
    await holder
      ?.query(`DROP FUNCTION IF EXISTS test_hold_commit() CASCADE`)
      .catch(() => undefined);
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
        async () =>
          settled ? 'recorded' : (await answersWaitingOn(openerPid)).length > 0 && 'waited',
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

  it('a silent-grid edge opened (uncommitted) while another responsible person of the grid confirms, meeting its rule, is resolved once both commit', async () => {
    const warningId = await issueAndFanOut();
    const anchor = await delivery(warningId, PEOPLE.gridLeader.ext);
    const member = await delivery(warningId, MONITOR_1.ext);
    const chief = await delivery(warningId, PEOPLE.villageChief.ext);
    await ruleNotMet(warningId, 1, { rule: 'one' });
    await holder.query(
      `CREATE TRIGGER test_hold_edge BEFORE INSERT ON escalations FOR EACH ROW
         WHEN (NEW.from_delivery_id = '${anchor.id}'::uuid) EXECUTE FUNCTION test_hold_edge()`,
    );
    try {
      await holder.query(`SELECT pg_advisory_lock($1, $2)`, [...HOLD]);
      // The grid's edge is being opened (from its anchor, the grid leader): its INSERT waits.
      const opening = t.app
        .get(StepMoves)
        .openEdge(
          anchor,
          { deliveryId: chief.id, personId: chief.personId, newDelivery: false },
          'group_silent',
        );
      const openerPid = await waitUntil(
        async () => (await waitingOn(holderPid))[0],
        'openEdge waiting on the test’s lock',
      );
      // A group monitor of the grid confirms meanwhile (one confirmation meets the rule).
      let settled = false;
      const answering = t.app.get(AnswersService).record({
        deliveryId: member.id,
        kind: 'confirm',
        channel: 'link',
        dedupeKey: `race-grid-a-${member.id}`,
      });
      answering.then(
        () => (settled = true),
        () => (settled = true),
      );
      const waited = await waitUntil(
        async () =>
          settled ? 'recorded' : (await answersWaitingOn(openerPid)).length > 0 && 'waited',
        'the confirmation recorded or waiting on the edge’s transaction',
      );
      await holder.query(`SELECT pg_advisory_unlock($1, $2)`, [...HOLD]);
      const [edge, answer] = await Promise.all([opening, answering]);
      expect(answer).toMatchObject({ effective: true, state: 'confirmed' });

      const [row] = await edgesFrom(anchor.id);
      expect(row).toMatchObject({ id: edge!.id, reason: 'group_silent' });
      expect(row.resolution).toBe('subject_answered');
      expect(row.resolvedAt).not.toBeNull();
      expect(await resolvedEventsOf(edge!.id)).toEqual([
        { subjectId: member.id, escalationIds: [edge!.id], resolution: 'subject_answered' },
      ]);
      // The confirmation waited for the edge's transaction (the grid's rows), then saw it.
      expect(waited).toBe('waited');
      // A notice to the superior finds no silent grid to report.
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

  it('a silent-grid edge opened after another responsible person’s confirmation met the rule is resolved at birth, and no notice goes out', async () => {
    const warningId = await issueAndFanOut();
    const anchor = await delivery(warningId, PEOPLE.gridLeader.ext);
    const member = await delivery(warningId, MONITOR_2.ext);
    const chief = await delivery(warningId, PEOPLE.villageChief.ext);
    await ruleNotMet(warningId, 1, { rule: 'one' });
    const answer = await t.app.get(AnswersService).record({
      deliveryId: member.id,
      kind: 'confirm',
      channel: 'link',
      dedupeKey: `race-grid-b-${member.id}`,
    });
    expect(answer).toMatchObject({ effective: true, state: 'confirmed' });

    // The village alerted by the grid's rule, found not met before the confirmation.
    await t.app.get(EscalationService).escalateTo(anchor, chief.personId, 'group_silent');

    const edges = await edgesFrom(anchor.id);
    expect(edges).toHaveLength(1);
    expect(edges[0]).toMatchObject({ reason: 'group_silent', resolution: 'subject_answered' });
    expect(edges[0].resolvedAt).not.toBeNull();
    expect(await resolvedEventsOf(edges[0].id)).toEqual([
      { subjectId: member.id, escalationIds: [edges[0].id], resolution: 'subject_answered' },
    ]);
    expect(await noticesTo(chief.id)).toEqual([]);
  });

  it('two last confirmations of a grid that both waited for its silent-grid edge resolve it together', async () => {
    const warningId = await issueAndFanOut();
    const anchor = await delivery(warningId, PEOPLE.gridLeader.ext);
    const m1 = await delivery(warningId, MONITOR_1.ext);
    const m2 = await delivery(warningId, MONITOR_2.ext);
    const chief = await delivery(warningId, PEOPLE.villageChief.ext);
    // Two of the grid's three responsible persons must confirm: the two monitors, together.
    await ruleNotMet(warningId, 2, { rule: 'at_least', count: 2 });
    await holder.query(
      `CREATE TRIGGER test_hold_edge BEFORE INSERT ON escalations FOR EACH ROW
         WHEN (NEW.from_delivery_id = '${anchor.id}'::uuid) EXECUTE FUNCTION test_hold_edge()`,
    );
    // Each confirmation, once it has resolved what it saw, waits before it commits.
    await holder.query(
      `CREATE TRIGGER test_hold_commit BEFORE UPDATE ON answers FOR EACH ROW
         WHEN (NEW.effective AND NOT OLD.effective AND NEW.delivery_id IN ('${m1.id}'::uuid, '${m2.id}'::uuid))
         EXECUTE FUNCTION test_hold_commit()`,
    );
    try {
      await holder.query(`SELECT pg_advisory_lock($1, $2)`, [...HOLD]);
      await holder.query(`SELECT pg_advisory_lock($1, $2)`, [...HOLD_COMMIT]);
      const opening = t.app
        .get(StepMoves)
        .openEdge(
          anchor,
          { deliveryId: chief.id, personId: chief.personId, newDelivery: false },
          'group_silent',
        );
      const openerPid = await waitUntil(
        async () => (await waitingOn(holderPid))[0],
        'openEdge waiting on the test’s lock',
      );
      const confirm = (d: { id: string }) =>
        t.app.get(AnswersService).record({
          deliveryId: d.id,
          kind: 'confirm',
          channel: 'link',
          dedupeKey: `race-grid-c-${d.id}`,
        });
      const answering = [confirm(m1), confirm(m2)];
      // Both wait: on the edge's transaction (the grid's rows), or past what they resolved.
      await waitUntil(
        async () =>
          (await answersWaitingOn(openerPid)).length + (await heldConfirmations()).length === 2 ||
          undefined,
        'both confirmations waiting',
      );
      // The edge commits; the confirmations go on, and each waits before its commit.
      await holder.query(`SELECT pg_advisory_unlock($1, $2)`, [...HOLD]);
      const edge = await opening;
      await waitUntil(
        async () => (await heldConfirmations()).length === 2 || undefined,
        'both confirmations waiting again',
      );
      await holder.query(`SELECT pg_advisory_unlock($1, $2)`, [...HOLD_COMMIT]);
      for (const a of await Promise.all(answering))
        expect(a).toMatchObject({ effective: true, state: 'confirmed' });

      const [row] = await edgesFrom(anchor.id);
      expect(row).toMatchObject({ id: edge!.id, reason: 'group_silent' });
      expect(row.resolution).toBe('subject_answered');
      expect(await resolvedEventsOf(edge!.id)).toHaveLength(1);
    } finally {
      await holder.query(`SELECT pg_advisory_unlock_all()`);
      await holder.query(`DROP TRIGGER IF EXISTS test_hold_edge ON escalations`);
      await holder.query(`DROP TRIGGER IF EXISTS test_hold_commit ON answers`);
    }
  });
});
