import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QUEUE_NAMES } from '../../src/common/queue/queue-names';
import { presetProfile } from '../../src/sandbox/person-profiles';
import { TokensService } from '../../src/modules/auth/tokens.service';
import { HazardReportChain } from '../../src/modules/hazard-reports/hazard-report.chain';
import { startTestApp, type TestApp } from '../helpers/app';
import { villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';

const APP_SECRET = 'hazard-chain-e2e-secret'.padEnd(40, 'c');
/** The county duty officer's first mobile is dead; the second works. */
const COUNTY_DUTY = {
  ext: 'P-HC-C',
  name: '县值班员',
  mobile: '+8613800000741',
  mobile2: '+8613800000742',
};
/** The city duty officer's mobile rings out; the duty office landline rings out too. */
const CITY_DUTY = {
  ext: 'P-HC-S',
  name: '州值班员',
  mobile: '+8613800000743',
  landline: '+862880000744',
};
const COUNTY_CHIEF = { ext: 'P-HC-R', name: '县责任人', mobile: '+8613800000745' };

const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.name}', 'duty_officer', '513221', NULL),
    ('${CITY_DUTY.ext}', '${CITY_DUTY.name}', 'duty_officer', '5132', NULL),
    ('${COUNTY_CHIEF.ext}', '${COUNTY_CHIEF.name}', 'county_responsible', '513221', NULL);
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, c.kind, c.value, c.priority FROM people JOIN (VALUES
      ('${COUNTY_DUTY.ext}', 'mobile', '${COUNTY_DUTY.mobile}', 1),
      ('${COUNTY_DUTY.ext}', 'mobile', '${COUNTY_DUTY.mobile2}', 2),
      ('${CITY_DUTY.ext}', 'mobile', '${CITY_DUTY.mobile}', 1),
      ('${CITY_DUTY.ext}', 'landline', '${CITY_DUTY.landline}', 2),
      ('${COUNTY_CHIEF.ext}', 'mobile', '${COUNTY_CHIEF.mobile}', 1)
    ) AS c(ext, kind, value, priority) ON c.ext = people.external_id;`;

/** Steps of 3 s (3 of them) and the mark at 5 s, instead of 10 minutes and 45 minutes. */
const STEP_S = 3;
const STEPS = 3;
const ESCALATE_AFTER_S = 5;

const report = (overrides: Record<string, unknown> = {}) => ({
  hazardPoint: 'HP-1',
  observed: '后山裂缝扩大，房屋墙体开裂',
  peopleThreatened: 700,
  reporter: { name: '李网格', role: '网格员' },
  ...overrides,
});

interface Notified {
  level: string;
  purpose: string;
  channel: string;
  status: string;
  step: number;
  contactKind: string;
  failover: boolean;
  outcome: string | null;
}
interface Chain {
  level: string;
  state: string;
  step: number;
}

describe('the 叫应 chain of a 特大型/大型 report: every contact point, failover, a retry per step, escalation', () => {
  let t: TestApp;
  let cityToken: string;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const city = () => ({ Authorization: `Bearer ${cityToken}` });
  const get = async (id: string) =>
    (await t.http().get(`/v1/hazard-reports/${id}`).set(duty())).body as {
      notified: Notified[];
      chains: Chain[];
      flagged: boolean;
    };
  const smsTo = (mobile: string, marker: string) =>
    t
      .sandbox!.carrier.events({ type: 'sms.created', to: mobile })
      .map((e) => String((e.data as { body: string }).body))
      .filter((b) => b.includes(marker));
  const callsTo = (number: string) =>
    t.sandbox!.carrier.events({ type: 'call.created', to: number }).length;
  const audit = async (id: string, action: string) =>
    (await t.db.query(
      `SELECT data FROM audit_events WHERE subject_id = $1 AND action = $2 ORDER BY id`,
      [id, action],
    )) as { data: Record<string, unknown> }[];

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      env: {
        HAZARD_REPORT_ESCALATE_AFTER_SECONDS: String(ESCALATE_AFTER_S),
        HAZARD_REPORT_STEP_SECONDS: String(STEP_S),
        HAZARD_REPORT_STEPS: String(STEPS),
        HAZARD_REPORT_SWEEP_MS: '300',
        // Calls are not held back by the provider's rate limit within a 3-second step.
        TWILIO_CALLS_PER_SECOND: '20',
      },
    });
    const fast = { sms: { reply: null, deliverAfterMs: 100 }, voice: { ringMs: 200 } };
    t.sandbox!.carrier.setProfile(COUNTY_DUTY.mobile, presetProfile('dead', fast));
    t.sandbox!.carrier.setProfile(COUNTY_DUTY.mobile2, presetProfile('silent', fast));
    t.sandbox!.carrier.setProfile(CITY_DUTY.mobile, presetProfile('no-answer', fast));
    t.sandbox!.carrier.setProfile(CITY_DUTY.landline, presetProfile('no-answer', fast));
    t.sandbox!.carrier.setProfile(COUNTY_CHIEF.mobile, presetProfile('silent', fast));
    cityToken = (
      await t.app
        .get(TokensService)
        .create({ name: '阿坝州值班室', role: 'duty_officer', jurisdiction: '5132' })
    ).token;
  });
  afterAll(async () => {
    delete process.env.HAZARD_REPORT_ESCALATE_AFTER_SECONDS;
    delete process.env.HAZARD_REPORT_STEP_SECONDS;
    delete process.env.HAZARD_REPORT_STEPS;
    delete process.env.HAZARD_REPORT_SWEEP_MS;
    delete process.env.TWILIO_CALLS_PER_SECOND;
    await t?.close();
  });

  it('a failed SMS or call fails over to the next contact point of the duty officer, an unanswered call too', async () => {
    const res = await t.http().post('/v1/hazard-reports').set(duty()).send(report());
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const marker = id.slice(0, 8);
    // The SMS to the dead mobile is undelivered: the same text goes to the second mobile.
    await waitUntil(
      async () => smsTo(COUNTY_DUTY.mobile2, marker).length > 0 || undefined,
      'the report SMS failed over to the second mobile',
    );
    // The call to the dead mobile failed: the second mobile is called.
    await waitUntil(
      async () => callsTo(COUNTY_DUTY.mobile2) > 0 || undefined,
      'the report call failed over to the second mobile',
    );
    // The city's mobile rang out: the duty office landline is called.
    await waitUntil(
      async () => callsTo(CITY_DUTY.landline) > 0 || undefined,
      'the unanswered call failed over to the landline',
    );
    const first = (await get(id)).notified.filter((n) => n.step === 0 && n.purpose === 'report');
    expect(
      first
        .filter((n) => n.failover)
        .map((n) => `${n.level}:${n.channel}:${n.contactKind}`)
        .sort(),
    ).toEqual(
      expect.arrayContaining(['city:voice:landline', 'county:sms:mobile', 'county:voice:mobile']),
    );
    const failovers = await audit(id, 'hazard_report.failover');
    expect(failovers.length).toBeGreaterThanOrEqual(3);
    // Audit events never carry numbers.
    expect(JSON.stringify(failovers)).not.toContain('138000007');
    // A failed notice fails over once, however many times its failure is reported.
    const [failed] = await t.db.query(
      `SELECT failover_of AS id FROM hazard_report_notices
        WHERE report_id = $1 AND failover_of IS NOT NULL AND step = 0 AND level = 'county' LIMIT 1`,
      [id],
    );
    const count = async () =>
      Number(
        (
          await t.db.query(
            `SELECT count(*)::int AS n FROM hazard_report_notices WHERE failover_of = $1`,
            [failed.id],
          )
        )[0].n,
      );
    const chain = t.app.get(HazardReportChain);
    await Promise.all([
      chain.failover(failed.id as string, 'undelivered'),
      chain.failover(failed.id as string, 'undelivered'),
    ]);
    expect(await count()).toBe(1);
    expect((await audit(id, 'hazard_report.failover')).length).toBe(failovers.length);
  });

  it('unacknowledged, each step tries again; an acknowledged level stops; the others run out their steps', async () => {
    const res = await t.http().post('/v1/hazard-reports').set(duty()).send(report());
    const id = res.body.id as string;
    // Step 1 starts after STEP_S without an acknowledgement: the city office is texted and called again.
    await waitUntil(async () => {
      const n = (await get(id)).notified;
      return n.some((x) => x.level === 'city' && x.step === 1) || undefined;
    }, 'step 1 of the city');
    const ack = await t.http().post(`/v1/hazard-reports/${id}/acknowledge`).set(city());
    expect(ack.body).toMatchObject({ level: 'city', recorded: true });
    const ended = await waitUntil(
      async () => {
        const r = await get(id);
        const county = r.chains.find((c) => c.level === 'county');
        return county?.state === 'exhausted' ? r : undefined;
      },
      'the county chain run out',
      30_000,
    );
    expect(ended.chains.find((c) => c.level === 'city')).toMatchObject({ state: 'acknowledged' });
    expect(ended.chains.find((c) => c.level === 'county')).toMatchObject({ step: STEPS - 1 });
    // Every step of the county went out; the city got nothing after its acknowledgement.
    const countySteps = new Set(
      ended.notified.filter((n) => n.level === 'county').map((n) => n.step),
    );
    expect([...countySteps].sort()).toEqual([0, 1, 2]);
    expect(ended.notified.some((n) => n.level === 'city' && n.step === 2)).toBe(false);
    expect(ended.notified.filter((n) => n.level === 'city' && n.status === 'queued')).toEqual([]);
    const steps = (await audit(id, 'hazard_report.step_started')).map(
      (e) => `${String(e.data.level)}:${String(e.data.step)}`,
    );
    expect(steps).toEqual(expect.arrayContaining(['county:1', 'county:2', 'city:1']));
    expect(steps).not.toContain('city:2');
    expect(await audit(id, 'hazard_report.chain_exhausted')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ level: 'county' }) }),
    ]);
    // The city acknowledged before the mark: not escalated, not flagged.
    expect(ended.flagged).toBe(false);
  });

  it('at the mark the city office is reminded on every contact point (failover too), the county’s responsible persons told, the report flagged', async () => {
    const res = await t.http().post('/v1/hazard-reports').set(duty()).send(report());
    const id = res.body.id as string;
    const escalated = await waitUntil(
      async () => {
        const r = await get(id);
        const n = r.notified.filter((x) => x.purpose === 'escalation');
        return r.flagged && n.some((x) => x.level === 'city' && x.contactKind === 'landline')
          ? r
          : undefined;
      },
      'the escalation reaching the city landline',
      30_000,
    );
    const kinds = escalated.notified
      .filter((x) => x.purpose === 'escalation')
      .map((x) => `${x.level}:${x.channel}:${x.contactKind}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'city:sms:mobile',
        'city:voice:mobile',
        'city:voice:landline',
        'county_responsible:sms:mobile',
      ]),
    );
    expect(await audit(id, 'hazard_report.escalated')).toHaveLength(1);
  });

  it('a step timer the queue backend lost is rebuilt by the sweep: the next step still comes, once', async () => {
    const res = await t.http().post('/v1/hazard-reports').set(duty()).send(report());
    const id = res.body.id as string;
    const queue = t.app.get<Queue>(getQueueToken(QUEUE_NAMES.hazardReports));
    expect(await queue.remove(`step-${id}-1`)).toBe(1);
    await waitUntil(
      async () => (await get(id)).chains.every((c) => c.step >= 1) || undefined,
      'step 1 after the timer was lost',
      20_000,
    );
    const steps = (await audit(id, 'hazard_report.step_started')).filter((e) => e.data.step === 1);
    expect(steps.map((e) => e.data.level).sort()).toEqual(['city', 'county']);
  });
});
