import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { presetProfile } from '../../src/sandbox/person-profiles';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { replacePolicy, responsiblePolicy } from '../helpers/policies';
import { hoursFromNow } from '../helpers/warning-bodies';
import { stepJobIdFor } from '../helpers/step-timers';

const APP_SECRET = 'escalation-e2e-secret'.padEnd(40, 'e');
const MONITOR = { ext: 'P-GM1', name: '周监测', mobile: '+8613800000006' };
const COUNTY_DUTY = { ext: 'P-ZB1', name: '吴值班', mobile: '+8613800000007' };

/** A group monitor in grid 1 (supervised by the grid leader) and the county duty office. */
const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${MONITOR.ext}', '${MONITOR.name}', 'group_monitor', '513221001001', '513221001001001'),
    ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.name}', 'duty_officer', '513221', NULL);
  UPDATE people SET supervisor_id = (SELECT id FROM people WHERE external_id = '${PEOPLE.gridLeader.ext}')
   WHERE external_id = '${MONITOR.ext}';
  UPDATE people SET supervisor_id = (SELECT id FROM people WHERE external_id = '${PEOPLE.villageChief.ext}')
   WHERE external_id = '${PEOPLE.gridLeader.ext}';
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', '${MONITOR.mobile}', 1 FROM people WHERE external_id = '${MONITOR.ext}'
    UNION ALL SELECT id, 'mobile', '${COUNTY_DUTY.mobile}', 1 FROM people WHERE external_id = '${COUNTY_DUTY.ext}';`;

/**
 * Answers by keypress only. A simulated SMS reply comes some time after the SMS, and a reply is
 * matched to the sender's most recent open warning: it could land on the next test's warning.
 */
const keysOnly = (kind: 'confirms' | 'needs-help') => presetProfile(kind, { sms: { reply: null } });

/** Short waits so that a whole chain runs in seconds. */
const FAST_POLICY = responsiblePolicy({
  steps: [
    { channels: ['sms', 'voice'], waitSeconds: 6, voiceRetries: { times: 2, withinSeconds: 2 } },
  ],
  onExhausted: { notWoken: true, supervisor: true, doorToDoor: true },
  groupRuleSeconds: 5,
});

describe('叫应: chains, retries, escalation, group rule, races and restarts', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const admin = () => ({ Authorization: `Bearer ${t.tokens.admin}` });
  const delivery = async (warningId: string, ext: string) =>
    (
      await t.db.query(
        `SELECT d.id, d.state, d.step, d.not_woken_at AS "notWokenAt", d.escalated_from AS "escalatedFrom",
                d.escalation_reason AS reason, d.step_due_at AS "stepDueAt"
           FROM deliveries d JOIN people p ON p.id = d.person_id WHERE d.warning_id = $1 AND p.external_id = $2`,
        [warningId, ext],
      )
    )[0];
  /** The step timer a delivery at step 1 of version 1 waits for. */
  const stepJob = (warningId: string, d: { stepDueAt: Date }) =>
    stepJobIdFor(warningId, 1, 1, d.stepDueAt);
  /** Waits until a timer job (step or group rule) has run, however loaded the machine is. */
  const timerRan = async (jobId: string) => {
    const queue: Queue = t.app.get(getQueueToken('escalation'), { strict: false });
    await waitUntil(
      async () => ((await queue.getJobState(jobId)) === 'completed' ? true : undefined),
      `timer ${jobId} ran`,
    );
  };
  const issue = async (audience: string[]) => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send({
        kind: 'meteorological_risk',
        level: 'orange',
        hazard: 'landslide',
        headline: '映秀镇地质灾害气象风险橙色预警',
        description: '强降雨，地质灾害风险高。',
        instruction: '责任人立即上岗到位',
        areas: ['513221001001'],
        audience,
        effective: hoursFromNow(0),
        expires: hoursFromNow(12),
      });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      env: { TWILIO_CALLS_PER_SECOND: '10', TWILIO_SMS_PER_SECOND: '50' },
    });
    await replacePolicy(t, FAST_POLICY);
  });
  afterAll(() => t.close());

  it('lists the seeded default policies and refuses a bad one naming the field', async () => {
    const list = await t
      .http()
      .get('/v1/escalation-policies')
      .set({ Authorization: `Bearer ${t.tokens.auditor}` });
    expect(list.body.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['临灾预警-责任人', '居民', '兜底']),
    );
    // Residents are called only in an imminent warning's danger zone.
    const zoned = list.body.filter((p: { dangerZoneOnly: boolean }) => p.dangerZoneOnly);
    expect(zoned.map((p: { name: string }) => p.name)).toEqual(['临灾预警-居民']);
    const bad = await t
      .http()
      .post('/v1/escalation-policies')
      .set(admin())
      .send({
        ...FAST_POLICY,
        name: 'bad',
        dangerZoneOnly: 'yes',
        steps: [{ channels: ['pigeon'], waitSeconds: 1 }],
      });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { field: string }) => f.field)).toEqual(
      expect.arrayContaining(['steps.0.channels', 'steps.0.waitSeconds', 'dangerZoneOnly']),
    );
    const count = await t.db.query(
      `SELECT count(*)::int AS n FROM escalation_policies WHERE name = 'bad'`,
    );
    expect(count[0].n).toBe(0);
    const forbidden = await t.http().post('/v1/escalation-policies').set(duty()).send(FAST_POLICY);
    expect(forbidden.status).toBe(403);
  });

  it('records who created, changed and deleted a policy in the audit log', async () => {
    const created = await t
      .http()
      .post('/v1/escalation-policies')
      .set(admin())
      .send({ ...FAST_POLICY, name: '演练-临时策略', rank: 900 });
    expect(created.status).toBe(201);
    const changed = await t
      .http()
      .put(`/v1/escalation-policies/${created.body.id}`)
      .set(admin())
      .send({ ...FAST_POLICY, name: '演练-临时策略', rank: 901 });
    expect(changed.status).toBe(200);
    const gone = await t.http().delete(`/v1/escalation-policies/${created.body.id}`).set(admin());
    expect(gone.status).toBe(204);
    const events = await t.db.query(
      `SELECT action, actor, data->>'rank' AS rank, data->>'name' AS name FROM audit_events
        WHERE subject_type = 'policy' AND subject_id = $1 ORDER BY id`,
      [created.body.id],
    );
    const [{ id: adminTokenId }] = await t.db.query(
      `SELECT id FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL ORDER BY created_at LIMIT 1`,
    );
    expect(events).toEqual([
      { action: 'policy.created', actor: adminTokenId, rank: '900', name: '演练-临时策略' },
      { action: 'policy.updated', actor: adminTokenId, rank: '901', name: '演练-临时策略' },
      { action: 'policy.deleted', actor: adminTokenId, rank: null, name: '演练-临时策略' },
    ]);
  });

  it('no answer → voice retries → not woken → supervisor contacted and a door-to-door task to the grid', async () => {
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.gridLeader.mobile, 'no-answer');
    s.setProfile(PEOPLE.villageChief.mobile, keysOnly('confirms'));
    s.setProfile(MONITOR.mobile, 'no-answer');
    const id = await issue(['grid_leader']);
    const gl = await waitUntil(async () => {
      const d = await delivery(id, PEOPLE.gridLeader.ext);
      return d?.notWokenAt ? d : undefined;
    }, 'grid leader on the not-woken list');
    const calls = await t.db.query(
      `SELECT status, outcome FROM contact_attempts WHERE delivery_id = $1 AND channel = 'voice' ORDER BY seq`,
      [gl.id],
    );
    expect(calls).toHaveLength(3); // the first call and two retries
    for (const c of calls) expect(c.status).toBe('failed');

    // The supervisor (the village chief) is brought into the chain, told who did not answer and where.
    // (The group rule may have brought them in a moment earlier: both edges are recorded.)
    const chief = await waitUntil(
      () => delivery(id, PEOPLE.villageChief.ext),
      'supervisor delivery',
    );
    expect(chief.escalatedFrom).toBe(gl.id);
    const edge = await waitUntil(async () => {
      const [row] = await t.db.query(
        `SELECT reason FROM escalations WHERE from_delivery_id = $1 AND to_delivery_id = $2 AND reason = 'not_woken'`,
        [gl.id, chief.id],
      );
      return row;
    }, 'not-woken escalation edge');
    expect(edge.reason).toBe('not_woken');
    const notice = await waitUntil(
      async () =>
        s
          .events({ type: 'sms.created', to: PEOPLE.villageChief.mobile })
          .find((e) => JSON.stringify(e.data).includes(PEOPLE.gridLeader.name)),
      'escalation SMS naming the grid leader',
    );
    expect(JSON.stringify(notice.data)).toContain('渔子溪');
    // The supervisor answers: their part of the chain is recorded too.
    await waitUntil(
      async () => (await delivery(id, PEOPLE.villageChief.ext))?.state === 'confirmed',
      'supervisor confirms',
    );

    // A door-to-door task goes to another member of the grid.
    const task = await waitUntil(async () => {
      const [row] = await t.db.query(
        `SELECT t.type, a.name AS assignee FROM manual_tasks t JOIN people a ON a.id = t.assignee_id WHERE t.warning_id = $1`,
        [id],
      );
      return row;
    }, 'door-to-door task');
    expect(task).toEqual({ type: 'door_to_door', assignee: MONITOR.name });

    const detail = await t.http().get(`/v1/warnings/${id}`).set(duty());
    expect(detail.body.responses.notWoken.map((p: { name: string }) => p.name)).toContain(
      PEOPLE.gridLeader.name,
    );
    expect(detail.body.responses.escalatedTo).toBeGreaterThanOrEqual(1);
  });

  it('group rule: nobody responsible in a grid confirmed in time → the village level is alerted', async () => {
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.gridLeader.mobile, 'no-answer');
    s.setProfile(MONITOR.mobile, 'no-answer');
    const id = await issue(['grid_leader', 'group_monitor']);
    const edge = await waitUntil(async () => {
      const [row] = await t.db.query(
        `SELECT e.reason, p.external_id AS ext FROM escalations e JOIN deliveries d ON d.id = e.to_delivery_id
           JOIN people p ON p.id = d.person_id WHERE e.warning_id = $1 AND e.reason = 'group_silent'`,
        [id],
      );
      return row;
    }, 'group rule escalation');
    expect(edge).toEqual({ reason: 'group_silent', ext: PEOPLE.villageChief.ext });
  });

  it('an answer stops the chain: the step timer that fires afterwards contacts nobody', async () => {
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.gridLeader.mobile, keysOnly('confirms'));
    const id = await issue(['grid_leader']);
    const gl = await waitUntil(async () => {
      const d = await delivery(id, PEOPLE.gridLeader.ext);
      return d?.state === 'confirmed' ? d : undefined;
    }, 'grid leader confirms');
    const attemptsAtAnswer = (
      await t.db.query(`SELECT count(*)::int AS n FROM contact_attempts WHERE delivery_id = $1`, [
        gl.id,
      ])
    )[0].n;
    // The step's timer fired and found the chain answered.
    await timerRan(stepJob(id, gl));
    const after = await delivery(id, PEOPLE.gridLeader.ext);
    expect(after).toMatchObject({ state: 'confirmed', step: 1, notWokenAt: null });
    const attemptsAfter = (
      await t.db.query(`SELECT count(*)::int AS n FROM contact_attempts WHERE delivery_id = $1`, [
        gl.id,
      ])
    )[0].n;
    expect(attemptsAfter).toBe(attemptsAtAnswer);
    const edges = await t.db.query(
      `SELECT count(*)::int AS n FROM escalations WHERE from_delivery_id = $1`,
      [gl.id],
    );
    expect(edges[0].n).toBe(0);
    // Nobody calls an answered person again, even by hand.
    const [glPerson] = await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [
      PEOPLE.gridLeader.ext,
    ]);
    const again = await t.http().post(`/v1/warnings/${id}/people/${glPerson.id}/call`).set(duty());
    expect(again.status).toBe(409);

    const people = await t.http().get(`/v1/warnings/${id}/responses`).set(duty());
    const row = people.body.find((p: { name: string }) => p.name === PEOPLE.gridLeader.name);
    expect(row.answerChannel ?? 'voice').toBe('voice');
    expect(row.issueToAnswer).toBeGreaterThan(0);
    expect(row.firstAttemptToAnswer).toBeLessThanOrEqual(row.issueToAnswer);
    expect(row.reachedInTime).toBe(true);
  });

  it('"need help" alerts the supervisor and the county duty office at once', async () => {
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.gridLeader.mobile, keysOnly('needs-help'));
    const id = await issue(['grid_leader']);
    const gl = await waitUntil(async () => {
      const d = await delivery(id, PEOPLE.gridLeader.ext);
      return d?.state === 'declined' ? d : undefined;
    }, 'grid leader asks for help');
    const alerted = await waitUntil(async () => {
      const r = await t.db.query(
        `SELECT p.external_id AS ext FROM escalations e JOIN deliveries d ON d.id = e.to_delivery_id JOIN people p ON p.id = d.person_id
          WHERE e.from_delivery_id = $1 AND e.reason = 'help_requested' ORDER BY 1`,
        [gl.id],
      );
      return r.length === 2 ? r.map((x: { ext: string }) => x.ext) : undefined;
    }, 'supervisor and duty office alerted');
    expect(alerted.sort()).toEqual([COUNTY_DUTY.ext, PEOPLE.villageChief.ext].sort());
    const detail = await t.http().get(`/v1/warnings/${id}`).set(duty());
    expect(detail.body.responses.helpRequests.map((h: { name: string }) => h.name)).toEqual([
      PEOPLE.gridLeader.name,
    ]);
  });

  it('cancel mid-chain stops every chain: no step fires, nobody is escalated', async () => {
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.gridLeader.mobile, 'no-answer');
    s.setProfile(MONITOR.mobile, 'no-answer');
    const id = await issue(['grid_leader', 'group_monitor']);
    await waitUntil(
      async () => (await delivery(id, PEOPLE.gridLeader.ext))?.step === 1,
      'chain started',
    );
    const res = await t
      .http()
      .post(`/v1/warnings/${id}/cancel`)
      .set(duty())
      .send({ reason: '解除' });
    expect(res.status).toBe(200);
    // The step timers and the group rule ran, and found the warning cancelled.
    const gl = await delivery(id, PEOPLE.gridLeader.ext);
    const monitor = await delivery(id, MONITOR.ext);
    await timerRan(stepJob(id, gl));
    await timerRan(stepJob(id, monitor));
    await timerRan(`group-${id}-v1-513221001001001`);
    expect(gl.notWokenAt).toBeNull();
    expect(gl.step).toBe(1);
    const edges = await t.db.query(
      `SELECT count(*)::int AS n FROM escalations WHERE warning_id = $1`,
      [id],
    );
    expect(edges[0].n).toBe(0);
    const queued = await t.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts WHERE warning_id = $1 AND status = 'queued' AND msg_type <> 'cancel'`,
      [id],
    );
    expect(queued[0].n).toBe(0);
  });

  it('an update leaves confirmed people confirmed (with a notice) unless the level is raised', async () => {
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.gridLeader.mobile, keysOnly('confirms'));
    const id = await issue(['grid_leader']);
    await waitUntil(
      async () => (await delivery(id, PEOPLE.gridLeader.ext))?.state === 'confirmed',
      'confirmed',
    );
    const body = {
      level: 'orange',
      hazard: 'landslide',
      headline: '映秀镇地质灾害气象风险橙色预警（更新）',
      description: '降雨持续。',
      instruction: '继续做好巡查',
      areas: ['513221001001'],
      audience: ['grid_leader'],
      effective: hoursFromNow(0),
      expires: hoursFromNow(12),
    };
    const same = await t.http().post(`/v1/warnings/${id}/updates`).set(duty()).send(body);
    expect(same.status).toBe(201);
    const notice = await waitUntil(async () => {
      const [row] = await t.db.query(
        `SELECT a.msg_type AS "msgType", a.channel, d.state, d.step FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
          JOIN people p ON p.id = d.person_id WHERE a.warning_id = $1 AND p.external_id = $2 AND a.version = 2`,
        [id, PEOPLE.gridLeader.ext],
      );
      return row;
    }, 'update notice');
    expect(notice).toMatchObject({
      msgType: 'update',
      channel: 'sms',
      state: 'confirmed',
      step: 0,
    });

    s.setProfile(PEOPLE.gridLeader.mobile, 'no-answer');
    const raised = await t
      .http()
      .post(`/v1/warnings/${id}/updates`)
      .set(duty())
      .send({ ...body, level: 'red' });
    expect(raised.status).toBe(201);
    const restarted = await waitUntil(async () => {
      const d = await delivery(id, PEOPLE.gridLeader.ext);
      return d?.step === 1 && d.state !== 'confirmed' ? d : undefined;
    }, 'chain restarted after the level was raised');
    const voice = await t.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts WHERE delivery_id = $1 AND version = 3 AND channel = 'voice'`,
      [restarted.id],
    );
    expect(voice[0].n).toBeGreaterThanOrEqual(1);
  });

  it('a restart of every process mid-chain loses no escalation and repeats none', async () => {
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.gridLeader.mobile, 'no-answer');
    s.setProfile(MONITOR.mobile, 'no-answer');
    const id = await issue(['grid_leader']);
    const started = await waitUntil(async () => {
      const d = await delivery(id, PEOPLE.gridLeader.ext);
      return d?.step === 1 ? d : undefined;
    }, 'chain started');
    await t.restart(); // the step timer is pending in the queue backend while nothing runs
    const gl = await waitUntil(async () => {
      const d = await delivery(id, PEOPLE.gridLeader.ext);
      return d?.notWokenAt ? d : undefined;
    }, 'not woken after the restart');
    await waitUntil(
      () => delivery(id, PEOPLE.villageChief.ext),
      'supervisor reached after the restart',
    );
    // The timer's follow-up is done (door-to-door task included) before anything is counted.
    await timerRan(stepJob(id, started));
    const edges = await t.db.query(
      `SELECT reason, count(*)::int AS n FROM escalations WHERE from_delivery_id = $1 AND reason = 'not_woken' GROUP BY reason`,
      [gl.id],
    );
    expect(edges).toEqual([{ reason: 'not_woken', n: 2 }]); // one to the supervisor, one door-to-door task
    const tasks = await t.db.query(
      `SELECT count(*)::int AS n FROM manual_tasks WHERE warning_id = $1`,
      [id],
    );
    expect(tasks[0].n).toBe(1);
  });

  it('a step timer lost with the queue data is re-scheduled by the recovery sweep', async () => {
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.gridLeader.mobile, 'no-answer');
    const id = await issue(['grid_leader']);
    const gl = await waitUntil(async () => {
      const d = await delivery(id, PEOPLE.gridLeader.ext);
      return d?.step === 1 ? d : undefined;
    }, 'chain started');
    const queue: Queue = t.app.get(getQueueToken('escalation'), { strict: false });
    const job = await queue.getJob(stepJob(id, gl));
    expect(job).toBeTruthy();
    await job!.remove(); // as if Redis had lost it
    // Well past the step's wait (due 6 s after it began): nothing happened, the timer is gone.
    await t.db.query(
      `UPDATE deliveries SET step_started_at = now() - interval '5 minutes',
              step_due_at = now() - interval '5 minutes' + interval '6 seconds' WHERE id = $1`,
      [gl.id],
    );
    expect((await delivery(id, PEOPLE.gridLeader.ext)).notWokenAt).toBeNull();
    const { LifecycleService } = await import('../../src/modules/dispatch/lifecycle.service');
    await t.app.get(LifecycleService, { strict: false }).recover();
    await waitUntil(
      async () => (await delivery(id, PEOPLE.gridLeader.ext))?.notWokenAt,
      'not woken after recovery',
    );
  });

  it('a duty officer can call a person again at once; their chain goes on', async () => {
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.gridLeader.mobile, 'no-answer');
    const id = await issue(['grid_leader']);
    await waitUntil(
      async () => (await delivery(id, PEOPLE.gridLeader.ext))?.step === 1,
      'chain started',
    );
    const [person] = await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [
      PEOPLE.gridLeader.ext,
    ]);
    const before = s.events({ type: 'call.created', to: PEOPLE.gridLeader.mobile }).length;
    const res = await t.http().post(`/v1/warnings/${id}/people/${person.id}/call`).set(duty());
    expect(res.status).toBe(202);
    await waitUntil(
      async () => s.events({ type: 'call.created', to: PEOPLE.gridLeader.mobile }).length > before,
      'the extra call',
    );
    const [attempt] = await t.db.query(
      `SELECT channel, purpose FROM contact_attempts WHERE id = $1`,
      [res.body.attemptId],
    );
    expect(attempt).toEqual({ channel: 'voice', purpose: 'warning' });
    const stranger = await t
      .http()
      .post(`/v1/warnings/${id}/people/00000000-0000-4000-8000-000000000000/call`)
      .set(duty());
    expect(stranger.status).toBe(404);
    await t.http().post(`/v1/warnings/${id}/cancel`).set(duty()).send({});
    const ended = await t.http().post(`/v1/warnings/${id}/people/${person.id}/call`).set(duty());
    expect(ended.status).toBe(409);
  });
});
