import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QUEUE_NAMES } from '../../src/common/queue/queue-names';
import { presetProfile } from '../../src/sandbox/person-profiles';
import { startTestApp, type TestApp } from '../helpers/app';
import { villageFixtureSql } from '../helpers/directory-fixture';
import { FlakyProxy } from '../helpers/flaky-proxy';
import { waitUntil } from '../helpers/wait';

const APP_SECRET = 'hazard-sends-e2e-secret'.padEnd(40, 's');
const COUNTY_DUTY = { ext: 'P-HS-C', name: '县值班员', mobile: '+8613800000721' };
const CITY_DUTY = { ext: 'P-HS-S', name: '州值班员', mobile: '+8613800000722' };
const PEOPLE = [COUNTY_DUTY, CITY_DUTY];

const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.name}', 'duty_officer', '513221', NULL),
    ('${CITY_DUTY.ext}', '${CITY_DUTY.name}', 'duty_officer', '5132', NULL);
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ${PEOPLE.map((p) => `('${p.ext}', '${p.mobile}')`).join(', ')}
    ) AS c(ext, mobile) ON c.ext = people.external_id;`;

const report = (overrides: Record<string, unknown> = {}) => ({
  hazardPoint: 'HP-1',
  observed: '后山裂缝扩大，房屋墙体开裂',
  peopleThreatened: 600,
  reporter: { name: '李网格', role: '网格员' },
  ...overrides,
});

interface Notice {
  level: string;
  purpose: string;
  channel: string;
  status: string;
  outcome: string | null;
}

describe('hazard report notices go through the queue: retries, status callbacks, deadline timer', () => {
  let t: TestApp;
  let proxy: FlakyProxy;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const smsTo = (mobile: string, marker: string) =>
    t
      .sandbox!.carrier.events({ type: 'sms.created', to: mobile })
      .map((e) => String((e.data as { body: string }).body))
      .filter((b) => b.includes(marker));
  const get = async (id: string) =>
    (await t.http().get(`/v1/hazard-reports/${id}`).set(duty())).body as {
      notified: Notice[];
      flagged: boolean;
    };
  const queue = () => t.app.get<Queue>(getQueueToken(QUEUE_NAMES.hazardReports));

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      env: {
        HAZARD_REPORT_ESCALATE_AFTER_SECONDS: '600',
        // Only the boot rebuilds lost jobs in this suite.
        HAZARD_REPORT_SWEEP_MS: '600000',
        SEND_RETRY_BACKOFF_MS: '200',
      },
      // Twilio answers the first two SMS requests with a 500 (a bad moment at the provider).
      beforeApp: async (sandbox) => {
        proxy = await FlakyProxy.start(sandbox!.carrier.baseUrl, /Messages\.json$/, 2, 500);
        process.env.TWILIO_API_BASE_URL = proxy.baseUrl;
      },
    });
    t.sandbox!.carrier.setProfile(
      COUNTY_DUTY.mobile,
      presetProfile('silent', { sms: { reply: null, deliverAfterMs: 100 } }),
    );
    // The city duty officer's phone rings out.
    t.sandbox!.carrier.setProfile(
      CITY_DUTY.mobile,
      presetProfile('no-answer', {
        sms: { reply: null, deliverAfterMs: 100 },
        voice: { ringMs: 200 },
      }),
    );
  });
  afterAll(async () => {
    delete process.env.HAZARD_REPORT_ESCALATE_AFTER_SECONDS;
    delete process.env.HAZARD_REPORT_SWEEP_MS;
    delete process.env.SEND_RETRY_BACKOFF_MS;
    delete process.env.TWILIO_API_BASE_URL;
    await t?.close();
    await proxy?.close();
  });

  let reportId: string;

  it('a 500 from Twilio on the first try: the city’s SMS still goes out on retry, once', async () => {
    const res = await t.http().post('/v1/hazard-reports').set(duty()).send(report());
    expect(res.status).toBe(201);
    reportId = res.body.id as string;
    const marker = reportId.slice(0, 8);
    const sent = await waitUntil(async () => {
      const n = (await get(reportId)).notified.filter((x) => x.channel === 'sms');
      return n.length === 2 && n.every((x) => x.status === 'sent') ? n : undefined;
    }, 'both report SMS sent');
    expect(sent.map((n) => n.level).sort()).toEqual(['city', 'county']);
    // Both first tries were refused (nothing reached the carrier); each SMS arrived exactly once.
    expect(proxy.failed).toBe(2);
    expect(smsTo(CITY_DUTY.mobile, marker)).toHaveLength(1);
    expect(smsTo(COUNTY_DUTY.mobile, marker)).toHaveLength(1);
    const [tries] = await t.db.query(
      `SELECT max(tries)::int AS max FROM hazard_report_notices WHERE report_id = $1 AND channel = 'sms'`,
      [reportId],
    );
    expect(tries.max).toBeGreaterThanOrEqual(2);
  });

  it('records what became of each call and SMS (the city’s call rang out: no-answer)', async () => {
    const notices = await waitUntil(async () => {
      const n = (await get(reportId)).notified;
      return n.length === 4 && n.every((x) => x.outcome) ? n : undefined;
    }, 'status callbacks of every notice');
    const byKey = Object.fromEntries(notices.map((n) => [`${n.level}:${n.channel}`, n.outcome]));
    expect(byKey).toEqual({
      'city:voice': 'no-answer',
      'county:voice': 'completed',
      'city:sms': 'delivered',
      'county:sms': 'delivered',
    });
  });

  it('a report that must reach the city has a delayed deadline job with a deterministic id, rebuilt at boot when lost', async () => {
    const res = await t.http().post('/v1/hazard-reports').set(duty()).send(report());
    const id = res.body.id as string;
    const job = await queue().getJob(`deadline-${id}`);
    expect(job).toBeDefined();
    expect(await job!.getState()).toBe('delayed');
    expect(job!.data).toEqual({ type: 'deadline', reportId: id });
    // A 小型 report has no deadline.
    const small = await t
      .http()
      .post('/v1/hazard-reports')
      .set(duty())
      .send(report({ peopleThreatened: 5 }));
    expect(await queue().getJob(`deadline-${small.body.id}`)).toBeUndefined();

    // The queue backend loses it; a restart rebuilds it from Postgres.
    await queue().remove(`deadline-${id}`);
    expect(await queue().getJob(`deadline-${id}`)).toBeUndefined();
    await t.restart();
    const rebuilt = await queue().getJob(`deadline-${id}`);
    expect(rebuilt).toBeDefined();
    expect(await rebuilt!.getState()).toBe('delayed');
  });
});
