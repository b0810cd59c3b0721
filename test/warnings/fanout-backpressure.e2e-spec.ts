import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { startTestApp, type TestApp } from '../helpers/app';
import { oneNumberResidents, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { hoursFromNow, imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'fanout-backpressure-e2e'.padEnd(40, 'b');

/** Residents of grid 1, one mobile each: several fan-out batches of 10. */
const RESIDENTS = 60;
const { sql: manySql } = oneNumberResidents(RESIDENTS, '07', 'P-B');

/** Batches of 10 people; no further batch while 25 sends of its priority or above wait. */
const BATCH = 10;
const MAX_BACKLOG = 25;

/**
 * The imminent warning's own audience: the village's responsible persons, one batch (its own
 * jobs stay below the bound, which counts them too).
 */
const URGENT_AUDIENCE = ['grid_leader', 'village_responsible'];

/** A routine (meteorological risk, blue) warning to everyone of the village. */
const routine = (headline: string) => ({
  kind: 'meteorological_risk',
  level: 'blue',
  hazard: 'landslide',
  headline,
  description: '受降雨影响，渔子溪村地质灾害风险较高。',
  instruction: '注意防范，留意预警信息',
  areas: ['513221001001'],
  audience: ['resident', 'grid_leader', 'village_responsible'],
  effective: hoursFromNow(0),
  expires: hoursFromNow(24),
});

describe('fan-out backpressure: a fan-out stops writing while the send queues are full, and a more urgent warning never waits behind it', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const queue = (name: string) => t.app.get<Queue>(getQueueToken(name), { strict: false });
  const sendQueues = ['send-sms', 'send-sms-batch', 'send-voice'];
  /** Sends waiting in the SMS and call queues: a batch job of first SMS counts as its people. */
  const backlog = async () => {
    let n = 0;
    for (const name of ['send-sms', 'send-voice']) {
      const c = await queue(name).getJobCounts('prioritized', 'waiting');
      n += c.prioritized + c.waiting;
    }
    for (const job of await queue('send-sms-batch').getJobs(['prioritized', 'waiting']))
      n += (job.data as { attemptIds: string[] }).attemptIds.length;
    return n;
  };
  const deliveries = async (id: string) =>
    (await t.db.query(`SELECT count(*)::int AS n FROM deliveries WHERE warning_id = $1`, [id]))[0]
      .n as number;
  const fanoutDone = async (id: string) =>
    (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]))[0]
      .fanout_done_at as Date | null;
  const issue = async (body: Record<string, unknown>) => {
    const res = await t.http().post('/v1/warnings').set(duty()).send(body);
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  /**
   * Waits until the send queues hold at least the bound: the batch that filled them has enqueued
   * its jobs, so it was written whole, and the fan-out writes nothing more while they stay full.
   */
  const heldBack = async (id: string) => {
    await waitUntil(async () => (await backlog()) >= MAX_BACKLOG, 'the send queues full');
    return deliveries(id);
  };
  const pauseSends = async () => {
    for (const name of sendQueues) await queue(name).pause();
  };
  const resumeSends = async () => {
    for (const name of sendQueues) await queue(name).resume();
  };
  let everyone = 0;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + manySql,
      env: {
        FANOUT_BATCH_SIZE: String(BATCH),
        // One batch written at a time: the bound is looked at after each batch is written and
        // enqueued, so the count read once the queues are full is final while the fan-out is
        // held. With two at once (the default) a second batch may still be on its way then, and
        // under load it was counted after the read (40 against 30).
        FANOUT_BATCHES_IN_FLIGHT: '1',
        FANOUT_MAX_BACKLOG: String(MAX_BACKLOG),
        FANOUT_BACKLOG_WAIT_MS: '120000',
        // Sends are held on purpose (the queues paused): nothing is taken for lost meanwhile.
        RECOVERY_REQUEUE_AFTER_SECONDS: '600',
      },
    });
    everyone = (
      await t.db.query(
        `SELECT count(*)::int AS n FROM people WHERE division_code = '513221001001' AND role IN ('resident', 'grid_leader', 'village_responsible')`,
      )
    )[0].n;
    expect(everyone).toBeGreaterThan(MAX_BACKLOG + 2 * BATCH);
  });
  afterAll(async () => {
    await resumeSends();
    await t.close();
  });
  afterEach(async () => {
    // Each case starts with empty send queues.
    await resumeSends();
    await waitUntil(async () => (await backlog()) === 0, 'the send queues drained', 90_000);
  });

  it('holds a routine fan-out at the bound, lets an imminent one through, and finishes once the sends drain, everyone once', async () => {
    await pauseSends();
    const slow = await issue(routine('渔子溪村地质灾害气象风险蓝色预警（背压）'));
    const held = await heldBack(slow);
    expect(held).toBeLessThan(everyone);
    expect(held).toBeGreaterThanOrEqual(BATCH);
    expect(await backlog()).toBeLessThan(MAX_BACKLOG + 2 * BATCH);

    // An imminent warning to the same village counts only jobs as urgent as its own: none.
    const urgent = await issue(
      imminentWarning({ headline: '渔子溪村滑坡临灾预警（背压）', audience: URGENT_AUDIENCE }),
    );
    await waitUntil(() => fanoutDone(urgent), 'the imminent fan-out done');
    // The routine one wrote nothing meanwhile: held, not done.
    expect(await deliveries(slow)).toBe(held);
    expect(await fanoutDone(slow)).toBeNull();

    await resumeSends();
    await waitUntil(
      () => fanoutDone(slow),
      'the routine fan-out done once the sends drained',
      90_000,
    );
    expect(await deliveries(slow)).toBe(everyone);
    // Everyone once: one first SMS each, every one of them handed to the carrier, none twice.
    const [sms] = await waitUntil(
      async () => {
        const rows: {
          n: number;
          people: number;
          pending: number;
          accepted: number;
          ids: number;
        }[] = await t.db.query(
          `SELECT count(*)::int AS n, count(DISTINCT delivery_id)::int AS people,
                    count(*) FILTER (WHERE status IN ('queued', 'sending'))::int AS pending,
                    count(provider_id)::int AS accepted, count(DISTINCT provider_id)::int AS ids
               FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms' AND seq = 0`,
          [slow],
        );
        return rows[0].pending === 0 ? rows : undefined;
      },
      'every first SMS of the routine warning handed over',
      90_000,
    );
    expect(sms.people).toBe(sms.n);
    expect(sms.n).toBeGreaterThanOrEqual(RESIDENTS);
    expect(sms.accepted).toBe(sms.n);
    expect(sms.ids).toBe(sms.accepted);
  });

  it('writes on when a more urgent fan-out waits for a worker held by routine ones', async () => {
    await pauseSends();
    // Two routine fan-outs, both held: every fan-out worker of the process is taken.
    const first = await issue(routine('渔子溪村地质灾害气象风险蓝色预警（背压一）'));
    await heldBack(first);
    const second = await issue(routine('渔子溪村地质灾害气象风险蓝色预警（背压二）'));
    await waitUntil(async () => (await deliveries(second)) >= BATCH, 'the second fan-out started');
    expect(await fanoutDone(first)).toBeNull();
    expect(await fanoutDone(second)).toBeNull();

    // The imminent fan-out waits for a worker: the held ones write on and finish, and it runs.
    const urgent = await issue(
      imminentWarning({ headline: '渔子溪村滑坡临灾预警（背压三）', audience: URGENT_AUDIENCE }),
    );
    await waitUntil(() => fanoutDone(urgent), 'the imminent fan-out done', 30_000);
    // One of them finished to give the imminent one its worker; the other may be held again.
    const finished = [await fanoutDone(first), await fanoutDone(second)].filter(Boolean);
    expect(finished.length).toBeGreaterThanOrEqual(1);
  });

  it('stops writing a fan-out whose warning was cancelled while it was held', async () => {
    await pauseSends();
    const id = await issue(routine('渔子溪村地质灾害气象风险蓝色预警（背压后解除）'));
    const held = await heldBack(id);
    const res = await t
      .http()
      .post(`/v1/warnings/${id}/cancel`)
      .set(duty())
      .send({ reason: '降雨减弱，风险解除' });
    expect(res.status).toBe(200);
    // The first version's fan-out job ends (it sees the cancel once it looks again)…
    const job = await queue('fanout').getJob(`fanout-${id}-v1`);
    expect(job).toBeDefined();
    await waitUntil(async () => (await job!.getState()) === 'completed', 'the held fan-out ended');
    // …having written nobody more.
    expect(await deliveries(id)).toBe(held);
    await resumeSends();
    await waitUntil(() => fanoutDone(id), 'the cancel fan-out done');
    expect(await deliveries(id)).toBe(held);
  });
});
