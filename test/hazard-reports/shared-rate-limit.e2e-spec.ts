import { Redis } from 'ioredis';
import { rateLimitWaits } from '../../src/common/observability/metrics';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { testRedisUrl } from '../helpers/redis';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'shared-rate-e2e-secret'.padEnd(40, 'r');
const COUNTY_DUTY = { ext: 'P-SR-C', name: '县值班员', mobile: '+8613800000731' };
const CITY_DUTY = { ext: 'P-SR-S', name: '州值班员', mobile: '+8613800000732' };
const N = 3;

const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.name}', 'duty_officer', '513221', NULL),
    ('${CITY_DUTY.ext}', '${CITY_DUTY.name}', 'duty_officer', '5132', NULL);
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.mobile}'), ('${CITY_DUTY.ext}', '${CITY_DUTY.mobile}')
    ) AS c(ext, mobile) ON c.ext = people.external_id;`;

/**
 * Twilio's SMS rate is one budget: warning sends and hazard-report notices draw from the same
 * counter (`<QUEUE_PREFIX>:rl:<N>p1s:twilio:sms`). With that counter full, neither reaches the
 * carrier, both are seen waiting on that very key (the notices in their priority lane), and
 * once it frees all of them go out.
 */
describe('hazard notices and warning sends share the provider rate limit', () => {
  let t: TestApp;
  let redis: Redis;
  let smsKey: string;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const smsCreated = () => t.sandbox!.carrier.events((e) => e.type === 'sms.created');
  const waits = async (lane: string) =>
    (await rateLimitWaits().get()).values.find(
      (v) => v.labels.key === 'twilio:sms' && v.labels.lane === lane,
    )?.value ?? 0;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      env: {
        TWILIO_SMS_PER_SECOND: String(N),
        HAZARD_REPORT_ESCALATE_AFTER_SECONDS: '600',
        HAZARD_REPORT_SWEEP_MS: '600000',
      },
    });
    for (const p of [...Object.values(PEOPLE), COUNTY_DUTY, CITY_DUTY])
      t.sandbox!.carrier.setProfile(p.mobile, 'silent');
    redis = new Redis(testRedisUrl());
    smsKey = `${process.env.QUEUE_PREFIX}:rl:${N}p1s:twilio:sms`;
  });
  afterAll(async () => {
    delete process.env.HAZARD_REPORT_ESCALATE_AFTER_SECONDS;
    delete process.env.HAZARD_REPORT_SWEEP_MS;
    redis?.disconnect();
    await t?.close();
  });

  it('holds both while the shared window is full, then sends both', async () => {
    // The window of this gateway's Twilio SMS budget is used up, for a long while.
    await redis.set(smsKey, String(N), 'PX', 600_000);
    const warning = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(imminentWarning({ headline: '共享限速测试：滑坡临灾预警' }));
    expect(warning.status).toBe(201);
    const report = await t
      .http()
      .post('/v1/hazard-reports')
      .set(duty())
      .send({
        hazardPoint: 'HP-1',
        observed: '后山裂缝扩大，房屋墙体开裂',
        peopleThreatened: 600,
        reporter: { name: '李网格', role: '网格员' },
      });
    expect(report.status).toBe(201);

    await waitUntil(
      async () => (await waits('normal')) > 0 && (await waits('priority')) > 0,
      'warning sends and report notices both waiting on the twilio:sms budget',
    );
    // The same counter held both back: nothing reached the carrier.
    expect(smsCreated()).toHaveLength(0);
    expect(Number(await redis.get(smsKey))).toBeGreaterThan(N);

    await redis.del(smsKey);
    const sms = await waitUntil(async () => {
      const [w] = await t.db.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE sent_at IS NOT NULL)::int AS sent
           FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms'`,
        [warning.body.id],
      );
      const [r] = await t.db.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'sent')::int AS sent
           FROM hazard_report_notices WHERE report_id = $1 AND channel = 'sms'`,
        [report.body.id],
      );
      return w.n > 0 && w.sent === w.n && r.n === 2 && r.sent === 2
        ? { warning: w.n as number, notices: r.n as number }
        : undefined;
    }, 'every warning SMS and report SMS sent once the window freed');
    expect(smsCreated()).toHaveLength(sms.warning + sms.notices);
  });
});
