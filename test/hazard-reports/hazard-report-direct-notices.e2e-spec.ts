import { presetProfile } from '../../src/sandbox/person-profiles';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';

const APP_SECRET = 'hazard-direct-e2e-secret'.padEnd(40, 'd');
const COUNTY_DUTY = { ext: 'P-HD-C', name: '县值班员', mobile: '+8613800000731' };
const NEIGHBOUR = { ext: 'P-HD-N', name: '刘邻居', mobile: '+8613800000732' };

const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.name}', 'duty_officer', '513221', NULL),
    ('${NEIGHBOUR.ext}', '${NEIGHBOUR.name}', 'resident', '513221001001', '513221001001001');
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.mobile}'), ('${NEIGHBOUR.ext}', '${NEIGHBOUR.mobile}')
    ) AS c(ext, mobile) ON c.ext = people.external_id;
  INSERT INTO hazard_site_people SELECT 'HP-1', id, 'threatened' FROM people WHERE external_id = '${NEIGHBOUR.ext}';`;

const report = (overrides: Record<string, unknown> = {}) => ({
  hazardPoint: 'HP-1',
  observed: '后山裂缝突然扩大，有落石',
  peopleThreatened: 30,
  reporter: { name: '李网格', role: '网格员' },
  ...overrides,
});

interface Notified {
  level: string;
  purpose: string;
  channel: string;
  status: string;
  name: string;
}

describe('direct notices (extreme danger): the threatened people of the hazard point are texted at once', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const grid = () => ({ Authorization: `Bearer ${t.tokens.grid_member}` });
  const smsTo = (mobile: string, marker: string) =>
    t
      .sandbox!.carrier.events({ type: 'sms.created', to: mobile })
      .map((e) => String((e.data as { body: string }).body))
      .filter((b) => b.includes(marker));
  const get = async (id: string) =>
    (await t.http().get(`/v1/hazard-reports/${id}`).set(duty())).body;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      env: { HAZARD_REPORT_ESCALATE_AFTER_SECONDS: '600', HAZARD_REPORT_SWEEP_MS: '300' },
    });
    for (const mobile of [COUNTY_DUTY.mobile, NEIGHBOUR.mobile, PEOPLE.resident.mobile])
      t.sandbox!.carrier.setProfile(
        mobile,
        presetProfile('silent', { sms: { reply: null, deliverAfterMs: 100 } }),
      );
  });
  afterAll(async () => {
    delete process.env.HAZARD_REPORT_ESCALATE_AFTER_SECONDS;
    delete process.env.HAZARD_REPORT_SWEEP_MS;
    await t?.close();
  });

  it('sends the SMS to every threatened person of the hazard point, through the report send path, and the duty office sees it at once', async () => {
    const created = await t.http().post('/v1/hazard-reports').set(grid()).send(report());
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const res = await t
      .http()
      .post(`/v1/hazard-reports/${id}/direct-notice`)
      .set(grid())
      .send({ by: '李网格', people: 12, means: ['sms', 'shout'], sendSms: true });
    expect(res.status).toBe(201);
    // Recorded as a direct notice, with what was sent, in the answer and at once in GET.
    expect(res.body.directNotices).toEqual([
      expect.objectContaining({
        by: '李网格',
        people: 12,
        means: ['sms', 'shout'],
        hazardPoint: 'HP-1',
        sms: { recipients: 2, queued: 2 },
      }),
    ]);
    const seen = await get(id);
    expect(seen.directNotices).toHaveLength(1);
    const direct = (seen.notified as Notified[]).filter((n) => n.purpose === 'direct_notice');
    expect(direct.map((n) => `${n.level}:${n.channel}:${n.name}`).sort()).toEqual(
      [`threatened:sms:${NEIGHBOUR.name}`, `threatened:sms:${PEOPLE.resident.name}`].sort(),
    );

    // Through the sandbox carrier: each threatened person gets the SMS once, naming the place.
    const marker = id.slice(0, 8);
    for (const mobile of [PEOPLE.resident.mobile, NEIGHBOUR.mobile]) {
      const [body] = await waitUntil(async () => {
        const b = smsTo(mobile, marker);
        return b.length ? b : undefined;
      }, `the direct notice SMS to ${mobile}`);
      expect(body).toContain('渔子溪滑坡隐患点');
      expect(body).toContain('立即撤离');
      expect(body).not.toContain('险情1');
    }
    await waitUntil(async () => {
      const n = ((await get(id)).notified as Notified[]).filter(
        (x) => x.purpose === 'direct_notice' && x.status === 'sent',
      );
      return n.length === 2 || undefined;
    }, 'both direct notice SMS recorded as sent');
    expect(smsTo(PEOPLE.resident.mobile, marker)).toHaveLength(1);
    // Not to people of the village who are not threatened by the hazard point.
    expect(smsTo(PEOPLE.gridLeader.mobile, marker).filter((b) => b.includes('立即撤离'))).toEqual(
      [],
    );
    const [audit] = await t.db.query(
      `SELECT data FROM audit_events WHERE subject_id = $1 AND action = 'hazard_report.direct_notice'`,
      [id],
    );
    expect(audit.data).toMatchObject({ people: 12, sms: 2, hazardPoint: 'HP-1' });
  });

  it('without sendSms only the record is kept; a report without a hazard point needs one named to send', async () => {
    const created = await t
      .http()
      .post('/v1/hazard-reports')
      .set(grid())
      .send(report({ hazardPoint: undefined, location: '渔子溪村一组河边' }));
    const id = created.body.id as string;
    const recorded = await t
      .http()
      .post(`/v1/hazard-reports/${id}/direct-notice`)
      .set(grid())
      .send({ by: '李网格', people: 5, means: ['gong'] });
    expect(recorded.status).toBe(201);
    expect(recorded.body.directNotices[0].sms).toBeUndefined();
    const noPoint = await t
      .http()
      .post(`/v1/hazard-reports/${id}/direct-notice`)
      .set(grid())
      .send({ by: '李网格', people: 5, means: ['sms'], sendSms: true });
    expect(noPoint.status).toBe(400);
    expect(noPoint.body.error.fields.map((f: { field: string }) => f.field)).toContain(
      'hazardPoint',
    );
    const named = await t
      .http()
      .post(`/v1/hazard-reports/${id}/direct-notice`)
      .set(grid())
      .send({ by: '李网格', people: 5, means: ['sms'], sendSms: true, hazardPoint: 'HP-1' });
    expect(named.status).toBe(201);
    expect(named.body.directNotices[1]).toMatchObject({
      hazardPoint: 'HP-1',
      sms: { recipients: 2, queued: 2 },
    });
  });
});
