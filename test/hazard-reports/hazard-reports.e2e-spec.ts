import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QUEUE_NAMES } from '../../src/common/queue/queue-names';
import { presetProfile } from '../../src/sandbox/person-profiles';
import { TokensService } from '../../src/modules/auth/tokens.service';
import { HazardReportLinks } from '../../src/modules/hazard-reports/hazard-report-links';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { inboundSms, messageOf } from '../helpers/twilio-webhooks';
import { waitUntil } from '../helpers/wait';

const APP_SECRET = 'hazard-reports-e2e-secret'.padEnd(40, 'h');
const COUNTY_DUTY = { ext: 'P-HZ-C', name: '县值班员', mobile: '+8613800000711' };
const CITY_DUTY = { ext: 'P-HZ-S', name: '州值班员', mobile: '+8613800000712' };
const COUNTY_CHIEF = { ext: 'P-HZ-R', name: '县责任人', mobile: '+8613800000713' };
const OTHERS = [COUNTY_DUTY, CITY_DUTY, COUNTY_CHIEF];

const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.name}', 'duty_officer', '513221', NULL),
    ('${CITY_DUTY.ext}', '${CITY_DUTY.name}', 'duty_officer', '5132', NULL),
    ('${COUNTY_CHIEF.ext}', '${COUNTY_CHIEF.name}', 'county_responsible', '513221', NULL);
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ${OTHERS.map((p) => `('${p.ext}', '${p.mobile}')`).join(', ')}
    ) AS c(ext, mobile) ON c.ext = people.external_id;`;

/** Escalated after this many seconds (instead of 45 minutes) in this test. */
const ESCALATE_AFTER_S = 3;

const report = (overrides: Record<string, unknown> = {}) => ({
  hazardPoint: 'HP-1',
  observed: '后山出现长约50米的裂缝，房屋墙体开裂',
  peopleThreatened: 600,
  possibleLoss: 1200,
  photos: ['https://example.cn/p/1.jpg'],
  reporter: { name: '李网格', phone: '+8613800000002', role: '网格员' },
  ...overrides,
});

describe('hazard reports (险情上报): grading, notices to duty offices, acknowledgement, escalation', () => {
  let t: TestApp;
  let cityToken: string;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const city = () => ({ Authorization: `Bearer ${cityToken}` });
  const grid = () => ({ Authorization: `Bearer ${t.tokens.grid_member}` });
  const smsTo = (mobile: string) =>
    t
      .sandbox!.carrier.events({ type: 'sms.created', to: mobile })
      .map((e) => String((e.data as { body: string }).body));
  const callsTo = (mobile: string) =>
    t.sandbox!.carrier.events({ type: 'call.created', to: mobile }).length;
  const create = async (body: Record<string, unknown>, auth = duty()) => {
    const res = await t.http().post('/v1/hazard-reports').set(auth).send(body);
    expect(res.status).toBe(201);
    return res.body as { id: string; grade: string };
  };
  const notices = async (id: string) =>
    (await t.http().get(`/v1/hazard-reports/${id}`).set(duty())).body.notified as {
      level: string;
      purpose: string;
      channel: string;
      status: string;
      name: string;
    }[];
  const auditCount = async (id: string, action: string) =>
    Number(
      (
        await t.db.query(
          `SELECT count(*)::int AS n FROM audit_events WHERE subject_id = $1 AND action = $2`,
          [id, action],
        )
      )[0].n,
    );

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      env: {
        HAZARD_REPORT_ESCALATE_AFTER_SECONDS: String(ESCALATE_AFTER_S),
        HAZARD_REPORT_SWEEP_MS: '300',
      },
    });
    for (const p of OTHERS)
      t.sandbox!.carrier.setProfile(
        p.mobile,
        presetProfile('silent', { sms: { reply: null, deliverAfterMs: 100 } }),
      );
    cityToken = (
      await t.app
        .get(TokensService)
        .create({ name: '阿坝州值班室', role: 'duty_officer', jurisdiction: '5132' })
    ).token;
  });
  afterAll(async () => {
    delete process.env.HAZARD_REPORT_ESCALATE_AFTER_SECONDS;
    delete process.env.HAZARD_REPORT_SWEEP_MS;
    await t?.close();
  });

  let largeId: string;

  it('a 大型 report notifies the county and city duty officers by SMS with the place, grade and people', async () => {
    const created = await create(report());
    expect(created.grade).toBe('大型');
    largeId = created.id;
    const forCounty = await waitUntil(
      async () => smsTo(COUNTY_DUTY.mobile).find((b) => b.includes(largeId.slice(0, 8))),
      'SMS to the county duty officer',
    );
    const forCity = await waitUntil(
      async () => smsTo(CITY_DUTY.mobile).find((b) => b.includes(largeId.slice(0, 8))),
      'SMS to the city duty officer',
    );
    for (const body of [forCounty, forCity]) {
      expect(body).toContain('渔子溪滑坡隐患点');
      expect(body).toContain('大型');
      expect(body).toContain('威胁600人');
    }
    expect(smsTo(COUNTY_CHIEF.mobile)).toEqual([]);
    // Each notice is a job of the hazard-reports queue: wait for all four to be sent.
    await waitUntil(
      async () =>
        (await notices(largeId)).filter((n) => n.status === 'sent').length === 4 || undefined,
      'all report notices sent',
    );
    const got = await t.http().get(`/v1/hazard-reports/${largeId}`).set(duty());
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      grade: '大型',
      peopleThreatened: 600,
      possibleLoss: 1200,
      place: { hazardPoint: 'HP-1', divisionCode: '513221001001' },
      cityDeadline: { required: true, status: 'pending', acknowledgedAt: null },
      flagged: false,
    });
    const deadline = new Date(got.body.cityDeadline.deadlineAt).getTime();
    expect(deadline - new Date(got.body.createdAt).getTime()).toBe(3600_000);
    expect(
      (got.body.notified as { level: string; channel: string; status: string }[])
        .map((n) => `${n.level}:${n.channel}:${n.status}`)
        .sort(),
    ).toEqual(['city:sms:sent', 'city:voice:sent', 'county:sms:sent', 'county:voice:sent']);
    // And a call to each.
    expect(callsTo(COUNTY_DUTY.mobile)).toBeGreaterThanOrEqual(1);
    expect(callsTo(CITY_DUTY.mobile)).toBeGreaterThanOrEqual(1);
    expect(await auditCount(largeId, 'hazard_report.created')).toBe(1);
  });

  it('records the acknowledgement once per level', async () => {
    const first = await t.http().post(`/v1/hazard-reports/${largeId}/acknowledge`).set(city());
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ level: 'city', recorded: true, by: '阿坝州值班室' });
    const again = await t.http().post(`/v1/hazard-reports/${largeId}/acknowledge`).set(city());
    expect(again.body).toMatchObject({ level: 'city', recorded: false });
    expect(again.body.at).toBe(first.body.at);
    const county = await t.http().post(`/v1/hazard-reports/${largeId}/acknowledge`).set(duty());
    expect(county.body).toMatchObject({ level: 'county', recorded: true });
    const got = await t.http().get(`/v1/hazard-reports/${largeId}`).set(duty());
    expect(got.body.acknowledgements).toHaveLength(2);
    expect(got.body.cityDeadline).toMatchObject({ status: 'met', acknowledgedAt: first.body.at });
    expect(await auditCount(largeId, 'hazard_report.acknowledged')).toBe(2);
  });

  it('escalates and flags an unacknowledged 大型 report at the mark; an acknowledged one is left alone', async () => {
    const created = await create(
      report({
        hazardPoint: undefined,
        divisionCode: '513221001001',
        location: '渔子溪村三组后山',
        peopleThreatened: 800,
      }),
    );
    expect(created.grade).toBe('大型');
    const flagged = await waitUntil(
      async () => {
        const res = await t.http().get(`/v1/hazard-reports/${created.id}`).set(duty());
        return res.body.flagged ? res.body : undefined;
      },
      'the report flagged',
      30_000,
    );
    expect(flagged.cityDeadline.status).toBe('at_risk');
    expect(
      new Date(flagged.escalatedAt).getTime() - new Date(flagged.createdAt).getTime(),
    ).toBeGreaterThanOrEqual(ESCALATE_AFTER_S * 1000 - 50);
    await waitUntil(
      async () =>
        (await notices(created.id)).filter((n) => n.purpose === 'escalation' && n.status === 'sent')
          .length === 3,
      'escalation notices sent',
    );
    const levels = (await notices(created.id))
      .filter((n) => n.purpose === 'escalation')
      .map((n) => `${n.level}:${n.channel}`)
      .sort();
    // SMS to the city duty office and the county's responsible persons, the city called again.
    expect(levels).toEqual(['city:sms', 'city:voice', 'county_responsible:sms']);
    const reminder = smsTo(CITY_DUTY.mobile).find(
      (b) => b.includes('催报') && b.includes(created.id.slice(0, 8)),
    );
    expect(reminder).toContain('渔子溪村三组后山');
    expect(smsTo(COUNTY_CHIEF.mobile).some((b) => b.includes(created.id.slice(0, 8)))).toBe(true);
    expect(await auditCount(created.id, 'hazard_report.escalated')).toBe(1);
    // The report acknowledged by the city before its mark was never escalated.
    const acked = await t.http().get(`/v1/hazard-reports/${largeId}`).set(duty());
    expect(acked.body.flagged).toBe(false);
    expect(await auditCount(largeId, 'hazard_report.escalated')).toBe(0);
    // The open list shows it flagged.
    const open = await t.http().get('/v1/hazard-reports?state=open').set(duty());
    expect(open.status).toBe(200);
    expect(open.body.find((r: { id: string }) => r.id === created.id)).toMatchObject({
      flagged: true,
    });
  });

  it('a deadline timer the queue backend lost is rebuilt by the sweep, and the report still escalates once', async () => {
    const created = await create(report({ peopleThreatened: 900 }));
    const queue = t.app.get<Queue>(getQueueToken(QUEUE_NAMES.hazardReports));
    expect(await queue.remove(`deadline-${created.id}`)).toBe(1);
    const flagged = await waitUntil(
      async () => {
        const res = await t.http().get(`/v1/hazard-reports/${created.id}`).set(duty());
        return res.body.flagged ? res.body : undefined;
      },
      'the report flagged',
      30_000,
    );
    expect(flagged.cityDeadline.status).toBe('at_risk');
    expect(await auditCount(created.id, 'hazard_report.escalated')).toBe(1);
  });

  it('a 特大型 report is acknowledged by the city duty officer pressing 1 on the call', async () => {
    t.sandbox!.carrier.setProfile(
      CITY_DUTY.mobile,
      presetProfile('confirms', {
        sms: { reply: null, deliverAfterMs: 100 },
        voice: { ringMs: 200, keyAfterMs: 200 },
      }),
    );
    try {
      const created = await create(report({ peopleThreatened: 1000 }));
      expect(created.grade).toBe('特大型');
      const acked = await waitUntil(
        async () => {
          const res = await t.http().get(`/v1/hazard-reports/${created.id}`).set(duty());
          return res.body.cityDeadline.status === 'met' ? res.body : undefined;
        },
        'the city acknowledging by keypress',
        30_000,
      );
      expect(acked.acknowledgements).toEqual([
        expect.objectContaining({ level: 'city', by: CITY_DUTY.name, channel: 'voice' }),
      ]);
      expect(await auditCount(created.id, 'hazard_report.acknowledged')).toBe(1);
    } finally {
      t.sandbox!.carrier.setProfile(
        CITY_DUTY.mobile,
        presetProfile('silent', { sms: { reply: null, deliverAfterMs: 100 } }),
      );
    }
  });

  it('a 小型 report notifies the county only', async () => {
    const created = await create(report({ peopleThreatened: 20 }));
    expect(created.grade).toBe('小型');
    await waitUntil(
      async () => (await notices(created.id)).some((n) => n.status === 'sent'),
      'the county notified',
    );
    const got = await t.http().get(`/v1/hazard-reports/${created.id}`).set(duty());
    // By SMS only: a call is for reports that must reach the city.
    expect(
      got.body.notified.map((n: { level: string; channel: string }) => `${n.level}:${n.channel}`),
    ).toEqual(['county:sms']);
    expect(got.body.cityDeadline).toMatchObject({ required: false, status: 'not_required' });
    expect(smsTo(COUNTY_DUTY.mobile).some((b) => b.includes(created.id.slice(0, 8)))).toBe(true);
    expect(smsTo(CITY_DUTY.mobile).some((b) => b.includes(created.id.slice(0, 8)))).toBe(false);

    // The county duty officer acknowledges by SMS reply (险情1), once.
    const reply = await inboundSms(t, COUNTY_DUTY.mobile, `险情1 ${created.id.slice(0, 8)}`);
    expect(reply.status).toBe(201);
    expect(messageOf(reply.text)).toContain('已确认接报');
    const again = await inboundSms(t, COUNTY_DUTY.mobile, '险情 确认');
    expect(messageOf(again.text)).toContain('无需再次回复');
    const acked = await t.http().get(`/v1/hazard-reports/${created.id}`).set(duty());
    expect(acked.body.acknowledgements).toEqual([
      expect.objectContaining({ level: 'county', by: COUNTY_DUTY.name, channel: 'sms' }),
    ]);
    expect(await auditCount(created.id, 'hazard_report.acknowledged')).toBe(1);
    const stranger = await inboundSms(t, '+8613800009999', '险情1');
    expect(messageOf(stranger.text)).toContain('未找到');
  });

  it('the county’s SMS carries a signed one-tap link: the page shows the report, the button acknowledges once, recording who and when', async () => {
    const created = await create(report({ peopleThreatened: 50 }));
    const no = created.id.slice(0, 8);
    const sms = await waitUntil(
      async () => smsTo(COUNTY_DUTY.mobile).find((b) => b.includes(no)),
      'the SMS to the county',
    );
    const token = /\/c\/h\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(sms)?.[1];
    expect(token).toBeDefined();
    const page = await t.http().get(`/c/h/${token}`);
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html');
    expect(page.text).toContain('渔子溪滑坡隐患点');
    expect(page.text).toContain('确认接报');
    expect(page.text).toContain('<form method="post">');
    // Showing the page acknowledges nothing (link previews fetch it).
    expect(
      (await t.http().get(`/v1/hazard-reports/${created.id}`).set(duty())).body.acknowledgements,
    ).toEqual([]);

    const tapped = await t.http().post(`/c/h/${token}`).type('form').send('ack=1');
    expect(tapped.status).toBe(200);
    expect(tapped.text).toContain('已确认接报（县级值班室');
    const got = await t.http().get(`/v1/hazard-reports/${created.id}`).set(duty());
    const [countyNotice] = await t.db.query(
      `SELECT person_id AS "personId" FROM hazard_report_notices WHERE report_id = $1 AND level = 'county'`,
      [created.id],
    );
    expect(got.body.acknowledgements).toEqual([
      expect.objectContaining({
        level: 'county',
        by: COUNTY_DUTY.name,
        personId: countyNotice.personId,
        channel: 'link',
      }),
    ]);
    expect(Date.now() - new Date(got.body.acknowledgements[0].at).getTime()).toBeLessThan(60_000);
    const again = await t.http().post(`/c/h/${token}`).type('form').send('ack=1');
    expect(again.status).toBe(200);
    expect(again.text).toContain('无需再次确认');
    expect(await auditCount(created.id, 'hazard_report.acknowledged')).toBe(1);

    // Forged, truncated and expired links change nothing.
    const forged = `${token!.split('.')[0]}.${'A'.repeat(22)}`;
    expect((await t.http().post(`/c/h/${forged}`).type('form').send('ack=1')).status).toBe(404);
    expect((await t.http().get('/c/h/abc')).status).toBe(404);
    const [notice] = await t.db.query(
      `SELECT id FROM hazard_report_notices WHERE report_id = $1 AND level = 'county'`,
      [created.id],
    );
    const expired = t.app.get(HazardReportLinks).token(notice.id, new Date(Date.now() - 1000));
    const gone = await t.http().post(`/c/h/${expired}`).type('form').send('ack=1');
    expect(gone.status).toBe(410);
    expect(gone.text).toContain('已过期');
  });

  it('a grid leader reports by SMS (险情 place what N人): a report in their village, answered with its number, the county told', async () => {
    const sid = `SM${'hz'.padEnd(24, '0')}${Date.now().toString(16).slice(-8)}`;
    const res = await inboundSms(
      t,
      PEOPLE.gridLeader.mobile,
      '险情 渔子溪村三组后山裂缝扩大 约30人',
      sid,
    );
    expect(res.status).toBe(201);
    const reply = messageOf(res.text);
    expect(reply).toContain('已收到您上报的险情');
    const no = /报告号([0-9a-f]{8})/.exec(reply)?.[1];
    expect(no).toBeDefined();
    const [row] = await t.db.query(
      `SELECT id FROM hazard_reports WHERE starts_with(id::text, $1)`,
      [no],
    );
    const got = await t.http().get(`/v1/hazard-reports/${row.id}`).set(duty());
    expect(got.body).toMatchObject({
      grade: '小型',
      peopleThreatened: 30,
      place: {
        divisionCode: '513221001001',
        location: '渔子溪村三组后山裂缝扩大',
        hazardPoint: null,
      },
      observed: '渔子溪村三组后山裂缝扩大 约30人',
      reporter: {
        name: PEOPLE.gridLeader.name,
        phone: PEOPLE.gridLeader.mobile,
        role: 'grid_leader',
      },
    });
    expect(reply).toContain('小型');
    expect(reply).toContain('威胁30人');
    // The same notification rules as a report by the API: the county duty office by SMS.
    await waitUntil(
      async () => smsTo(COUNTY_DUTY.mobile).some((b) => b.includes(no!)),
      'the county told of the SMS report',
    );
    // Twilio retrying the webhook makes no second report, and gets the same answer.
    const again = await inboundSms(
      t,
      PEOPLE.gridLeader.mobile,
      '险情 渔子溪村三组后山裂缝扩大 约30人',
      sid,
    );
    expect(messageOf(again.text)).toContain(`报告号${no}`);
    const [count] = await t.db.query(
      `SELECT count(*)::int AS n FROM hazard_reports WHERE sms_message_sid = $1`,
      [sid],
    );
    expect(count.n).toBe(1);
    expect(await auditCount(row.id, 'hazard_report.created')).toBe(1);
  });

  it('an SMS report naming a hazard point with 600 people is 大型: the city is told, the reply says so', async () => {
    const res = await inboundSms(
      t,
      PEOPLE.gridLeader.mobile,
      '险情：渔子溪滑坡隐患点 前缘垮塌，威胁600余人',
    );
    const reply = messageOf(res.text);
    expect(reply).toContain('大型');
    expect(reply).toContain('并报市级值班室');
    const no = /报告号([0-9a-f]{8})/.exec(reply)![1];
    const [row] = await t.db.query(
      `SELECT hazard_point AS "hazardPoint", division_code AS "divisionCode", people_threatened AS people
         FROM hazard_reports WHERE starts_with(id::text, $1)`,
      [no],
    );
    expect(row).toEqual({ hazardPoint: 'HP-1', divisionCode: '513221001001', people: 600 });
    await waitUntil(
      async () => smsTo(CITY_DUTY.mobile).some((b) => b.includes(no)),
      'the city told of the SMS report',
    );
  });

  it('an SMS report without a number of people is kept (小型) and the reporter is asked to phone it in; a resident cannot report by SMS', async () => {
    const res = await inboundSms(t, PEOPLE.gridLeader.mobile, '险情 河边有落石');
    expect(messageOf(res.text)).toContain('请尽快电话补报受威胁人数');
    const resident = await inboundSms(t, PEOPLE.resident.mobile, '险情 后山裂缝 约10人');
    expect(messageOf(resident.text)).toContain('未登记为监测员、网格员或责任人');
    const [n] = await t.db.query(
      `SELECT count(*)::int AS n FROM hazard_reports WHERE reporter->>'phone' = $1`,
      [PEOPLE.resident.mobile],
    );
    expect(n.n).toBe(0);
  });

  it('drafts and issues an imminent warning with the report’s place and people, linked to it', async () => {
    const res = await t
      .http()
      .post(`/v1/hazard-reports/${largeId}/warning`)
      .set(duty())
      .send({ shelter: '渔子溪小学' });
    expect(res.status).toBe(201);
    const warningId = res.body.warning.id as string;
    const [v] = await t.db.query(
      `SELECT w.kind, v.areas, v.hazard_points AS "hazardPoints", v.content
         FROM warnings w JOIN warning_versions v ON v.warning_id = w.id WHERE w.id = $1`,
      [warningId],
    );
    expect(v.kind).toBe('imminent');
    expect(v.areas).toEqual(['513221001001']);
    expect(v.hazardPoints).toEqual(['HP-1']);
    expect(v.content.impact).toMatchObject({ people: 600 });
    expect(v.content.shelter).toBe('渔子溪小学');
    expect(v.content.hazard).toBe('landslide');
    expect(v.content.level).toBe('red');
    const got = await t.http().get(`/v1/hazard-reports/${largeId}`).set(duty());
    expect(got.body.warningId).toBe(warningId);
    expect(await auditCount(largeId, 'hazard_report.warning_drafted')).toBe(1);
    const again = await t.http().post(`/v1/hazard-reports/${largeId}/warning`).set(duty()).send({});
    expect(again.status).toBe(409);
  });

  it('under the two-person release the imminent warning is drafted, and linked once another officer approves it', async () => {
    process.env.TWO_PERSON_RELEASE = 'red_public';
    try {
      const created = await create(report({ peopleThreatened: 700 }));
      const res = await t
        .http()
        .post(`/v1/hazard-reports/${created.id}/warning`)
        .set(duty())
        .send({ shelter: '渔子溪小学' });
      expect(res.status).toBe(202);
      const draftId = res.body.draft.id as string;
      const before = await t.http().get(`/v1/hazard-reports/${created.id}`).set(duty());
      expect(before.body).toMatchObject({ warningDraftId: draftId, warningId: null });
      const second = (
        await t.app
          .get(TokensService)
          .create({ name: '县值班室二号', role: 'duty_officer', jurisdiction: '513221' })
      ).token;
      const seen = await t
        .http()
        .get(`/v1/warnings/drafts/${draftId}`)
        .set({ Authorization: `Bearer ${second}` });
      const approved = await t
        .http()
        .post(`/v1/warnings/${draftId}/approve`)
        .set({ Authorization: `Bearer ${second}` })
        .send({ previewHash: seen.body.preview.previewHash });
      expect(approved.status).toBe(201);
      const after = await t.http().get(`/v1/hazard-reports/${created.id}`).set(duty());
      expect(after.body.warningId).toBe(approved.body.id);
    } finally {
      process.env.TWO_PERSON_RELEASE = 'off';
    }
  });

  it('a grid member reports for their village and records a direct notice the duty office sees', async () => {
    const created = await create(
      report({ hazardPoint: undefined, location: '渔子溪村一组河边', peopleThreatened: 40 }),
      grid(),
    );
    const outside = await t
      .http()
      .post('/v1/hazard-reports')
      .set(grid())
      .send(report({ hazardPoint: undefined, divisionCode: '513221', location: '县城' }));
    expect(outside.status).toBe(403);
    const notice = await t
      .http()
      .post(`/v1/hazard-reports/${created.id}/direct-notice`)
      .set(grid())
      .send({ by: '李网格', people: 35, means: ['gong', 'door_to_door'] });
    expect(notice.status).toBe(201);
    const open = await t.http().get('/v1/hazard-reports?state=open').set(duty());
    const mine = open.body.find((r: { id: string }) => r.id === created.id);
    expect(mine.place.divisionCode).toBe('513221001001');
    expect(mine.directNotices).toEqual([
      expect.objectContaining({ by: '李网格', people: 35, means: ['gong', 'door_to_door'] }),
    ]);
    // Grid members see their own reports only.
    const other = await t.http().get(`/v1/hazard-reports/${largeId}`).set(grid());
    expect(other.status).toBe(404);
  });

  it.each([
    [{ peopleThreatened: undefined }, 'peopleThreatened'],
    [{ peopleThreatened: -1 }, 'peopleThreatened'],
    [{ peopleThreatened: 1.5 }, 'peopleThreatened'],
    [{ observed: '' }, 'observed'],
    [{ photos: ['http://example.cn/1.jpg'] }, 'photos'],
    [{ reporter: {} }, 'reporter.name'],
    [{ hazardPoint: undefined }, 'hazardPoint'],
    [{ hazardPoint: 'NOPE' }, 'hazardPoint'],
    [{ hazardPoint: undefined, divisionCode: '513221001001' }, 'location'],
    [{ hazardPoint: undefined, divisionCode: '12', location: 'x' }, 'divisionCode'],
    [{ possibleLoss: -3 }, 'possibleLoss'],
  ])('bad input %j is a 400 naming %s', async (overrides, field) => {
    const res = await t.http().post('/v1/hazard-reports').set(duty()).send(report(overrides));
    expect(res.status).toBe(400);
    const fields = (res.body.error.fields as { field: string }[]).map((f) => f.field);
    expect(fields).toContain(field);
  });
});
