import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { stepTimerJobId } from '../../src/common/queue/queue-names';
import { DispatchQueue } from '../../src/common/queue/dispatch-queue.service';
import { EscalationService } from '../../src/modules/dispatch/escalation.service';
import { StepMoves } from '../../src/modules/chain/step-moves.repository';
import { startTestApp, type TestApp } from '../helpers/app';
import { villageFixtureSql } from '../helpers/directory-fixture';
import { replacePolicy, responsiblePolicy } from '../helpers/policies';
import { stepTimerJobs } from '../helpers/step-timers';
import { waitUntil } from '../helpers/wait';
import { hoursFromNow } from '../helpers/warning-bodies';
import { SEND_QUEUES } from '../helpers/send-queues';
import { watchCallsAtOnce } from '../helpers/at-once';

const APP_SECRET = 'step-timers-e2e-secret'.padEnd(40, 's');
const CROWD = 500;
/** Chains a step timer's statement moves here: the crowd's timer takes several statements. */
const STEP_TIMER_BATCH = 100;

/** 500 group monitors of grid 1, one mobile each. */
const crowdSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code)
    SELECT 'T-' || i, '监测员' || i, 'group_monitor', '513221001001', '513221001001001'
      FROM generate_series(1, ${CROWD}) i;
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', '+86139' || lpad(substr(external_id, 3), 8, '0'), 1
      FROM people WHERE external_id LIKE 'T-%';`;

/** Two SMS steps: the first of `firstWait` seconds, the second long enough never to end here. */
const twoSteps = (firstWait: number) =>
  responsiblePolicy({
    steps: [
      { channels: ['sms'], waitSeconds: firstWait },
      { channels: ['sms'], waitSeconds: 3600 },
    ],
    onExhausted: { notWoken: true, supervisor: false, doorToDoor: false },
    groupRuleSeconds: null,
  });

describe('叫应 step timers: one job per warning, step and due second', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const queue = (name: string) => t.app.get<Queue>(getQueueToken(name), { strict: false });
  const escalation = () => queue('escalation');

  const issue = async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send({
        kind: 'meteorological_risk',
        level: 'orange',
        hazard: 'landslide',
        headline: '渔子溪村地质灾害气象风险预警（监测员）',
        description: '强降雨，地质灾害风险高。',
        instruction: '监测员立即上岗巡查',
        areas: ['513221001001'],
        audience: ['group_monitor'],
        effective: hoursFromNow(0),
        expires: hoursFromNow(12),
      });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]))[0]
          .fanout_done_at,
      'fan-out done',
    );
    return id;
  };

  /** Each delivery's step, follow-up mark and attempts (count, and SMS per step). */
  const chains = async (warningId: string) =>
    t.db.query<{ id: string; step: number; stepDone: number; attempts: number; created: number }[]>(
      `SELECT d.id, d.step, d.step_done AS "stepDone",
              (SELECT count(*)::int FROM contact_attempts a WHERE a.delivery_id = d.id) AS attempts,
              (SELECT count(*)::int FROM audit_events e
                WHERE e.action = 'attempt.created' AND e.data->>'deliveryId' = d.id::text) AS created
         FROM deliveries d WHERE d.warning_id = $1 ORDER BY d.id`,
      [warningId],
    );

  /** The step timer ids the deliveries of a warning at `step` wait for: one per due second. */
  const expectedTimers = async (warningId: string, step: number) =>
    (
      await t.db.query<{ second: string }[]>(
        `SELECT DISTINCT floor(extract(epoch FROM step_due_at))::bigint AS second FROM deliveries
          WHERE warning_id = $1 AND step = $2 AND step_due_at IS NOT NULL`,
        [warningId, step],
      )
    )
      .map((r) => stepTimerJobId({ warningId, version: 1, step, second: Number(r.second) }))
      .sort();

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + crowdSql,
      env: { STEP_TIMER_BATCH: String(STEP_TIMER_BATCH) },
    });
    // Nothing is sent here: only the chains' rows and jobs are looked at.
    for (const name of SEND_QUEUES) await queue(name).pause();
  });
  afterAll(async () => {
    // What was never sent is dropped, and the queues resumed, before the workers close.
    for (const name of SEND_QUEUES) {
      await queue(name).drain(true);
      await queue(name).resume();
    }
    await t.close();
  });

  it('a 500-person fan-out schedules one step timer per due second, not one per person', async () => {
    await replacePolicy(t, twoSteps(600));
    const id = await issue();
    const rows = await chains(id);
    expect(rows.length).toBeGreaterThanOrEqual(CROWD);
    expect(rows.every((r) => r.step === 1)).toBe(true);
    const expected = await expectedTimers(id, 1);
    // Every delivery has a due time in Postgres, and a job for its second.
    const [{ missing }] = await t.db.query(
      `SELECT count(*)::int AS missing FROM deliveries WHERE warning_id = $1 AND step_due_at IS NULL`,
      [id],
    );
    expect(missing).toBe(0);
    // The whole escalation queue: no job per person, only the timers of the due seconds.
    const all = await escalation().getJobs(['delayed', 'waiting', 'prioritized', 'active']);
    expect(all.map((j) => j.id).sort()).toEqual(expected);
    expect(expected.length).toBeLessThanOrEqual(5);
    await t.http().post(`/v1/warnings/${id}/cancel`).set(duty()).send({ reason: '测试结束' });
  });

  /**
   * The warning's step 1 timers taken out of the queue (as if lost) and every wait made to have
   * run out, so that a test runs them by hand before the workers do: the timers, and the job data
   * of one timer for all of them.
   */
  const overdueStep1 = async (id: string) => {
    const step1 = await stepTimerJobs(escalation(), id, 1);
    expect(step1.map((j) => j.id).sort()).toEqual(await expectedTimers(id, 1));
    for (const job of step1) await job.remove();
    const [{ second }] = await t.db.query(
      `WITH u AS (UPDATE deliveries SET step_due_at = now() - interval '1 second' WHERE warning_id = $1
                  RETURNING step_due_at)
       SELECT floor(extract(epoch FROM min(step_due_at)))::bigint AS second FROM u`,
      [id],
    );
    return { step1, overdue: { warningId: id, version: 1, step: 1, second: Number(second) } };
  };

  it('a timer of many chains moves its batches two at a time, each chain once', async () => {
    await replacePolicy(t, twoSteps(600));
    const id = await issue();
    const { overdue } = await overdueStep1(id);
    const before = await chains(id);
    expect(before.length).toBeGreaterThan(3 * STEP_TIMER_BATCH);
    // Each statement waits (a second at most) for another to be under way beside it.
    const watch = watchCallsAtOnce(t.app.get(StepMoves, { strict: false }), 'advanceDue');
    try {
      const svc = t.app.get(EscalationService, { strict: false });
      expect(await svc.onStepsDue(overdue)).toEqual({ advanced: before.length });
    } finally {
      watch.restore();
    }
    expect(watch.seen.most).toBe(2);
    expect(watch.seen.calls).toBeGreaterThanOrEqual(Math.ceil(before.length / STEP_TIMER_BATCH));
    // Each person moved once: step 2, its SMS written once, one audit event for it.
    expect((await chains(id)).map((r) => [r.step, r.stepDone, r.attempts, r.created])).toEqual(
      before.map(() => [2, 2, 2, 2]),
    );
    await t.http().post(`/v1/warnings/${id}/cancel`).set(duty()).send({ reason: '测试结束' });
  });

  it('timers run at the same time, replayed, retried or re-added advance every person exactly once', async () => {
    await replacePolicy(t, twoSteps(600));
    const id = await issue();
    const { step1, overdue } = await overdueStep1(id);
    const before = await chains(id);
    expect(before.every((r) => r.attempts === 1 && r.created === 1)).toBe(true);

    const svc = t.app.get(EscalationService, { strict: false });
    const runs = await Promise.all([
      ...step1.flatMap((j) => [
        svc.onStepsDue(j.data),
        svc.onStepsDue(j.data),
        svc.onStepsDue(j.data, { retry: true }),
      ]),
      // One delivery's own timer (as an older release queued it), at the same moment.
      ...before.slice(0, 20).map((d) => svc.onStepTimer(d.id, 1, 1).then(() => undefined)),
    ]);
    const advancedByTimers = runs.reduce((n, r) => n + (r?.advanced ?? 0), 0);
    expect(advancedByTimers).toBeLessThanOrEqual(before.length);
    expect(advancedByTimers).toBeGreaterThanOrEqual(before.length - 20);
    const after = await chains(id);
    // Each person moved once: step 2, its SMS written once, one audit event for it.
    expect(after.map((r) => [r.step, r.stepDone, r.attempts, r.created])).toEqual(
      before.map(() => [2, 2, 2, 2]),
    );
    const step2 = await stepTimerJobs(escalation(), id, 2);
    expect(step2.map((j) => j.id).sort()).toEqual(await expectedTimers(id, 2));

    // The lost timers brought back (as the recovery sweep does): the workers run them now.
    const dq = t.app.get(DispatchQueue, { strict: false });
    expect(await dq.reviveStepTimer(overdue)).toBe(true);
    // The workers run the queued timers now: nobody is due at step 1 any more.
    await waitUntil(async () => {
      const jobs = await stepTimerJobs(escalation(), id, 1);
      return (
        jobs.length > 0 &&
        (await Promise.all(jobs.map((j) => j.getState()))).every((s) => s === 'completed')
      );
    }, 'step 1 timers completed');
    // A completed timer re-added again: it runs once more, and still nothing moves.
    expect(await dq.reviveStepTimer(overdue)).toBe(true);
    await waitUntil(async () => {
      const jobs = await stepTimerJobs(escalation(), id, 1);
      return (await Promise.all(jobs.map((j) => j.getState()))).every((s) => s === 'completed');
    }, 'timers re-added and completed');
    // Replayed by hand once more, as a retry.
    for (const job of await stepTimerJobs(escalation(), id, 1))
      expect(await svc.onStepsDue(job.data, { retry: true })).toEqual({ advanced: 0 });
    const final = await chains(id);
    expect(final.every((r) => r.step === 2 && r.stepDone === 2 && r.attempts === 2)).toBe(true);
    expect(final.every((r) => r.created === 2)).toBe(true);
    await t.http().post(`/v1/warnings/${id}/cancel`).set(duty()).send({ reason: '测试结束' });
  });
});
