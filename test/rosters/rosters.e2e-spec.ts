import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';

const APP_SECRET = 'rosters-e2e-secret'.padEnd(40, 'r');

type Contact = { kind: string; value: string; status: string; verifiedAt: string | null };
type Person = { externalId: string; role: string; status: string; contacts: Contact[] };

describe('roster checks and the roster report', () => {
  let t: TestApp;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) });
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.villageChief.mobile, 'confirms');
    s.setProfile(PEOPLE.gridLeader.mobile, 'dead');
    s.setProfile(PEOPLE.townshipChief.mobile, 'confirms');
    s.setProfile(PEOPLE.resident.mobile, 'confirms');
    s.setProfile(PEOPLE.deadMobile.mobile, 'dead');
  });
  afterAll(() => t.close());

  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const auditor = () => ({ Authorization: `Bearer ${t.tokens.auditor}` });
  let checkId: string;
  let warningId: string;

  it('refuses a malformed or unknown division (400) and one outside the jurisdiction (403), naming the field', async () => {
    const bad = await t.http().post('/v1/roster-checks').set(duty()).send({ jurisdiction: 'abc' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual([expect.objectContaining({ field: 'jurisdiction' })]);
    const unknown = await t
      .http()
      .post('/v1/roster-checks')
      .set(duty())
      .send({ jurisdiction: '513221009' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields).toEqual([expect.objectContaining({ field: 'jurisdiction' })]);
    const outside = await t
      .http()
      .post('/v1/roster-checks')
      .set(duty())
      .send({ jurisdiction: '510100' });
    expect(outside.status).toBe(403);
    expect(outside.body.error.code).toBe('OUTSIDE_JURISDICTION');
    expect(outside.body.error.fields).toEqual([expect.objectContaining({ field: 'jurisdiction' })]);
    const auditorTries = await t
      .http()
      .post('/v1/roster-checks')
      .set(auditor())
      .send({ jurisdiction: '513221' });
    expect(auditorTries.status).toBe(403);
  });

  it('issues a test warning that reaches only the responsible persons', async () => {
    const res = await t
      .http()
      .post('/v1/roster-checks')
      .set(duty())
      .send({ jurisdiction: '513221' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      divisionCode: '513221',
      divisionName: '汶川县',
      recipients: 3,
    });
    checkId = res.body.id;
    warningId = res.body.warningId;
    const [w] = await t.db.query(`SELECT status FROM warnings WHERE id = $1`, [warningId]);
    expect(w.status).toBe('test');
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [warningId]))[0]
          .fanout_done_at,
      'the fan-out of the roster check',
    );
    const roles = await t.db.query(
      `SELECT p.external_id AS ext, d.role FROM deliveries d JOIN people p ON p.id = d.person_id
        WHERE d.warning_id = $1 AND d.escalated_from IS NULL ORDER BY 1`,
      [warningId],
    );
    expect(roles.map((r: { ext: string }) => r.ext).sort()).toEqual(
      [PEOPLE.gridLeader.ext, PEOPLE.townshipChief.ext, PEOPLE.villageChief.ext].sort(),
    );
    // Nothing to residents, on any channel.
    const toResidents = await t.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts WHERE warning_id = $1 AND address = ANY ($2)`,
      [warningId, [PEOPLE.resident.mobile, PEOPLE.deadMobile.mobile]],
    );
    expect(toResidents[0].n).toBe(0);
    const sms = await t.db.query(
      `SELECT a.address FROM contact_attempts a WHERE a.warning_id = $1 AND a.channel = 'sms'`,
      [warningId],
    );
    expect(sms.length).toBeGreaterThan(0);
  });

  it('reports a dead number and a working one, and sets verified_at for the working one', async () => {
    const result = await waitUntil(async () => {
      const res = await t.http().get(`/v1/roster-checks/${checkId}`).set(duty());
      expect(res.status).toBe(200);
      const people = res.body.results as Person[];
      const chief = people.find((p) => p.externalId === PEOPLE.villageChief.ext);
      const leader = people.find((p) => p.externalId === PEOPLE.gridLeader.ext);
      const chiefMobile = chief?.contacts.find((c) => c.kind === 'mobile');
      const leaderMobile = leader?.contacts.find((c) => c.kind === 'mobile');
      return chiefMobile?.status === 'answered' && leaderMobile?.status === 'dead_number'
        ? res.body
        : undefined;
    }, 'the village chief answers and the grid leader number is dead');
    expect(result.people).toBe(3);
    expect(result.numbersToFix).toEqual([
      expect.objectContaining({
        name: PEOPLE.gridLeader.name,
        kind: 'mobile',
        value: PEOPLE.gridLeader.mobile,
      }),
    ]);
    const leader = (result.results as Person[]).find(
      (p) => p.externalId === PEOPLE.gridLeader.ext,
    )!;
    expect(leader.status).toBe('dead_number');
    expect(leader.contacts[0].verifiedAt).toBeNull();
    const chief = (result.results as Person[]).find(
      (p) => p.externalId === PEOPLE.villageChief.ext,
    )!;
    expect(chief.status).toBe('answered');
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    expect(chief.contacts.find((c) => c.kind === 'mobile')!.verifiedAt).toBe(today);

    const verified = await t.db.query(
      `SELECT value, to_char(verified_at, 'YYYY-MM-DD') AS v FROM contact_points WHERE value = ANY ($1) ORDER BY value`,
      [[PEOPLE.villageChief.mobile, PEOPLE.gridLeader.mobile]],
    );
    expect(verified).toEqual([
      { value: PEOPLE.villageChief.mobile, v: today },
      { value: PEOPLE.gridLeader.mobile, v: null },
    ]);

    // Auditors read it with numbers masked; another jurisdiction does not see it.
    const masked = await t.http().get(`/v1/roster-checks/${checkId}`).set(auditor());
    expect(masked.status).toBe(200);
    expect(masked.body.numbersToFix[0].value).toBe('+86138****0002');
    const missing = await t.http().get(`/v1/roster-checks/not-a-uuid`).set(duty());
    expect(missing.status).toBe(400);
  });

  it('reports the roster: contacts with when last confirmed, people without a supervisor, uncovered grids, unmonitored hazard points and the filing date', async () => {
    const res = await t.http().get('/v1/rosters/513221').set(duty());
    expect(res.status).toBe(200);
    const year = new Date(Date.now() + 8 * 3600_000).getUTCFullYear();
    expect(res.body).toMatchObject({
      divisionCode: '513221',
      level: 'county',
      fileBy: `${year}-04-20`,
    });
    expect(res.body.divisions).toHaveLength(1);
    const county = res.body.divisions[0];
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const chief = county.people.find((p: Person) => p.externalId === PEOPLE.villageChief.ext);
    expect(chief.supervisor).toMatchObject({ name: PEOPLE.townshipChief.name });
    expect(chief.contacts.find((c: Contact) => c.kind === 'mobile').lastConfirmedAt).toBe(today);
    expect(county.people.map((p: Person) => p.role)).not.toContain('resident');
    expect(county.peopleWithoutSupervisor.map((p: { name: string }) => p.name).sort()).toEqual(
      [PEOPLE.gridLeader.name, PEOPLE.townshipChief.name].sort(),
    );
    expect(county.gridsWithoutResponsible).toEqual([
      { code: '513221001001002', name: '渔子溪村第2网格', villageCode: '513221001001' },
    ]);
    expect(county.hazardPointsWithoutMonitor).toEqual([
      expect.objectContaining({ code: 'HP-1', name: '渔子溪滑坡隐患点' }),
    ]);
    // No people import was recorded this year before the filing date.
    expect(county.filing).toMatchObject({
      fileBy: `${year}-04-20`,
      filed: false,
      lastPeopleImportAt: null,
    });

    // A responsible person who is not a monitor (群测群防员) does not take it off the list.
    await t.db.query(
      `INSERT INTO hazard_site_people SELECT 'HP-1', id, 'responsible' FROM people WHERE external_id = $1`,
      [PEOPLE.gridLeader.ext],
    );
    const leaderOnly = await t.http().get('/v1/rosters/513221001').set(auditor());
    expect(leaderOnly.status).toBe(200);
    expect(leaderOnly.body.divisions[0].hazardPointsWithoutMonitor).toEqual([
      expect.objectContaining({ code: 'HP-1' }),
    ]);
    // A monitor for the hazard point takes it off the list.
    await t.db.query(
      `INSERT INTO people (external_id, name, role, division_code) VALUES ('P-GM1', '周监测', 'group_monitor', '513221001001');
       INSERT INTO hazard_site_people SELECT 'HP-1', id, 'responsible' FROM people WHERE external_id = 'P-GM1'`,
    );
    const after = await t.http().get('/v1/rosters/513221001').set(auditor());
    expect(after.status).toBe(200);
    expect(after.body.divisions[0].hazardPointsWithoutMonitor).toEqual([]);
    expect(after.body.divisions[0].people[0].contacts[0].value).toMatch(/\*\*\*\*/);
  });

  it('counts a people import made by the filing date as filed (ROSTER_FILE_BY)', async () => {
    const csv =
      'id,name,role,division,mobile\nP-CR1,刘县长,county_responsible,513221,+8613800000009\n';
    const imported = await t
      .http()
      .post('/v1/directory/imports/people')
      .set({ Authorization: `Bearer ${t.tokens.admin}`, 'Content-Type': 'text/csv' })
      .send(csv);
    expect(imported.status).toBeLessThan(300);
    // Today (Beijing) as the filing day: the import just made counts.
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    process.env.ROSTER_FILE_BY = today.slice(5);
    try {
      const res = await t.http().get('/v1/rosters/513221').set(auditor());
      expect(res.status).toBe(200);
      expect(res.body.divisions[0].filing).toMatchObject({
        fileBy: today,
        filed: true,
        overdue: false,
      });
      expect(res.body.divisions[0].filing.lastPeopleImportAt).toEqual(expect.any(String));
      // The county's top of the chain has no supervisor and is not listed for it.
      expect(
        res.body.divisions[0].peopleWithoutSupervisor.map((p: { name: string }) => p.name),
      ).not.toContain('刘县长');
    } finally {
      delete process.env.ROSTER_FILE_BY;
    }
  });

  it('gives a province or city per county, each with its own filing status', async () => {
    // The people import above named 513221 only: 510100 has not filed.
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    process.env.ROSTER_FILE_BY = today.slice(5);
    try {
      const res = await t.http().get('/v1/rosters/51').set(auditor());
      expect(res.status).toBe(200);
      expect(res.body.divisions.map((d: { code: string }) => d.code)).toEqual(['510100', '513221']);
      const [other, county] = res.body.divisions;
      expect(county.filing).toMatchObject({ fileBy: today, filed: true });
      expect(other.filing).toMatchObject({ fileBy: today, filed: false, lastPeopleImportAt: null });
    } finally {
      delete process.env.ROSTER_FILE_BY;
    }
  });

  it("takes a county's own filing date (ROSTER_FILE_BY_COUNTY) over the default", async () => {
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const year = today.slice(0, 4);
    // A day of this year before today: the county's import (made today) came too late for it.
    const early = today.slice(5) === '01-01' ? null : '01-01';
    process.env.ROSTER_FILE_BY = today.slice(5);
    process.env.ROSTER_FILE_BY_COUNTY = `510100=03-31, 513221=${early ?? '12-31'}`;
    try {
      const res = await t.http().get('/v1/rosters/51').set(auditor());
      expect(res.status).toBe(200);
      const [other, county] = res.body.divisions;
      expect(other.filing).toMatchObject({ fileBy: `${year}-03-31`, filed: false });
      if (early)
        expect(county.filing).toMatchObject({
          fileBy: `${year}-${early}`,
          filed: false,
          overdue: true,
          lastPeopleImportAt: null,
        });
      // The default date stays the report's own.
      expect(res.body.fileBy).toBe(today);
    } finally {
      delete process.env.ROSTER_FILE_BY;
      delete process.env.ROSTER_FILE_BY_COUNTY;
    }
  });

  it('refuses an unknown division (400) and one outside the jurisdiction (403), naming the field', async () => {
    const unknown = await t.http().get('/v1/rosters/513299').set(duty());
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields).toEqual([expect.objectContaining({ field: 'divisionCode' })]);
    const malformed = await t.http().get('/v1/rosters/5132x').set(duty());
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.fields).toEqual([
      expect.objectContaining({ field: 'divisionCode' }),
    ]);
    const outside = await t.http().get('/v1/rosters/510100').set(duty());
    expect(outside.status).toBe(403);
    expect(outside.body.error.fields).toEqual([expect.objectContaining({ field: 'divisionCode' })]);
    const grid = await t
      .http()
      .get('/v1/rosters/513221')
      .set({ Authorization: `Bearer ${t.tokens.grid_member}` });
    expect(grid.status).toBe(403);
  });
});
