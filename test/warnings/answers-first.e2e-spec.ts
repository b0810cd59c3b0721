import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { DispatchQueue } from '../../src/common/queue/dispatch-queue.service';
import { WebhookAdmission } from '../../src/common/http/webhook-admission';
import { fanoutYields } from '../../src/common/observability/metrics';
import { startTestApp, type TestApp } from '../helpers/app';
import { oneNumberResidents, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { riskWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'answers-first-e2e'.padEnd(40, 'a');

/** Residents of grid 1, one mobile each: several fan-out batches of 10. */
const RESIDENTS = 40;
const { sql: residentsSql } = oneNumberResidents(RESIDENTS, '08', 'P-F');
const BATCH = 10;
/** Longest one batch waits while answers press. */
const YIELD_MAX_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Answers first: while an API process has more answers in hand than it records at once, every
 * worker's fan-out waits before its next batch (rows, or a batch job of first SMS contacts), at
 * most FANOUT_YIELD_MAX_MS a batch. Real Postgres, Redis and sandbox carrier.
 */
describe('answers first: a fan-out yields to answers queueing in an API process', () => {
  let t: TestApp;
  let everyone = 0;
  let pressing: NodeJS.Timeout | undefined;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const issue = async (headline: string) => {
    // A routine (blue) warning to everyone of the village.
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(riskWarning({ level: 'blue', headline }));
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const deliveries = async (id: string) =>
    (await t.db.query(`SELECT count(*)::int AS n FROM deliveries WHERE warning_id = $1`, [id]))[0]
      .n as number;
  const fanoutDone = async (id: string) =>
    (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]))[0]
      .fanout_done_at as Date | null;
  /** Batches that waited for answers, by kind, in this process's metrics. */
  const yields = async (batch: 'rows' | 'sends') =>
    (await fanoutYields().get()).values.find((v) => v.labels.batch === batch)?.value ?? 0;
  /** Answers press as an API process's admission says it (renewed before it lapses). */
  const press = () => {
    const admission = t.app.get(WebhookAdmission);
    admission.opts.onAnswersPressing?.();
    pressing = setInterval(() => admission.opts.onAnswersPressing?.(), 50);
  };
  const stopPressing = () => {
    clearInterval(pressing);
    pressing = undefined;
  };

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + residentsSql,
      env: {
        FANOUT_BATCH_SIZE: String(BATCH),
        FANOUT_YIELD_MAX_MS: String(YIELD_MAX_MS),
      },
    });
    everyone = (
      await t.db.query(
        `SELECT count(*)::int AS n FROM people WHERE division_code = '513221001001' AND role IN ('resident', 'grid_leader', 'village_responsible')`,
      )
    )[0].n;
    expect(everyone).toBeGreaterThan(3 * BATCH);
  });
  afterEach(() => stopPressing());
  afterAll(async () => {
    stopPressing();
    await t.close();
  });

  it("the API's admission says it in the queue backend; nothing waits once it lapses", async () => {
    const queue = t.app.get(DispatchQueue);
    expect(await queue.yieldToAnswers('rows')).toBe(0); // nobody presses: no wait
    t.app.get(WebhookAdmission).opts.onAnswersPressing?.();
    // Said for ANSWERS_PRESSING_HOLD_MS (300): a batch waits until it lapses, well before the bound.
    const waited = await queue.yieldToAnswers('rows');
    expect(waited).toBeGreaterThan(200);
    expect(waited).toBeLessThan(YIELD_MAX_MS);
    expect(await queue.yieldToAnswers('rows')).toBe(0);
  });

  it('writes no batch while answers press, and writes everyone once they stop', async () => {
    const before = await yields('rows');
    press();
    const id = await issue('渔子溪村地质灾害气象风险蓝色预警（叫应优先）');
    // The fan-out job runs, and waits before its first batch.
    const fanout = t.app.get<Queue>(getQueueToken('fanout'), { strict: false });
    await waitUntil(
      async () => (await fanout.getJobCounts('active')).active > 0,
      'the fan-out job running',
    );
    await sleep(300);
    expect(await deliveries(id)).toBe(0);
    stopPressing();
    await waitUntil(() => fanoutDone(id), 'the fan-out done');
    expect(await deliveries(id)).toBe(everyone);
    // The first batch waited; the others, written once the answers stopped pressing, did not.
    expect((await yields('rows')) - before).toBe(1);
  });

  it('waits at most FANOUT_YIELD_MAX_MS a batch: with answers pressing throughout, every batch is written and sent', async () => {
    const rowsBefore = await yields('rows');
    const sendsBefore = await yields('sends');
    press();
    const id = await issue('渔子溪村地质灾害气象风险蓝色预警（叫应一直优先）');
    await waitUntil(() => fanoutDone(id), 'the fan-out done', 120_000);
    expect(await deliveries(id)).toBe(everyone);
    // Each batch of people waited, as did the batch jobs of their first SMS.
    expect((await yields('rows')) - rowsBefore).toBeGreaterThanOrEqual(Math.ceil(everyone / BATCH));
    // Everyone's first SMS handed to the carrier, pressing or not.
    await waitUntil(
      async () =>
        (
          await t.db.query(
            `SELECT count(*)::int AS n FROM contact_attempts
              WHERE warning_id = $1 AND channel = 'sms' AND provider_id IS NOT NULL`,
            [id],
          )
        )[0].n >= everyone,
      'every first SMS handed over',
      120_000,
    );
    expect(await yields('sends')).toBeGreaterThan(sendsBefore);
  });
});
