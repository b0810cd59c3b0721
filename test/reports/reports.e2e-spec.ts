import ExcelJS from 'exceljs';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { TokensService } from '../../src/modules/auth/tokens.service';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'reports-e2e-secret'.padEnd(40, 'r');
const GRID1 = '513221001001001';
const GRID2 = '513221001001002';
const VILLAGE = '513221001001';
/** The county duty office: told when someone in the county asks for help. */
const COUNTY_DUTY = { ext: 'P-ZB1', name: '吴值班', mobile: '+8613800000007' };
const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code)
    VALUES ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.name}', 'duty_officer', '513221', NULL);
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', '${COUNTY_DUTY.mobile}', 1 FROM people WHERE external_id = '${COUNTY_DUTY.ext}';`;

/** CSV text → rows of fields (enough for this test: no line breaks inside fields). */
function parseCsv(text: string): string[][] {
  return text
    .replace(/^\uFEFF/, '')
    .split('\r\n')
    .filter((l) => l.length)
    .map((l) => l.split(','));
}

describe('response chains, timelines, reports and exports', () => {
  let t: TestApp;
  let warningId: string;
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ Authorization: `Bearer ${tokens[who]}` });
  const personId = async (ext: string) =>
    (await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [ext]))[0].id as string;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      env: { TWILIO_CALLS_PER_SECOND: '5', TWILIO_SMS_PER_SECOND: '20' },
    });
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.villageChief.mobile, 'confirms');
    s.setProfile(PEOPLE.gridLeader.mobile, 'needs-help');
    s.setProfile(PEOPLE.resident.mobile, 'confirms');
    s.setProfile(PEOPLE.deadMobile.mobile, 'dead');
    s.setProfile(PEOPLE.deadMobile.landline, 'confirms');
    s.setProfile(PEOPLE.townshipChief.mobile, 'confirms');
    s.setProfile(COUNTY_DUTY.mobile, 'confirms');
    Object.assign(tokens, t.tokens);
    const svc = t.app.get(TokensService);
    tokens.otherDuty = (
      await svc.create({ name: 'other county', role: 'duty_officer', jurisdiction: '510100' })
    ).token;
    tokens.grid2 = (
      await svc.create({ name: 'grid 2', role: 'grid_member', gridCode: GRID2 })
    ).token;

    const res = await t.http().post('/v1/warnings').set(as('duty_officer')).send(imminentWarning());
    expect(res.status).toBe(201);
    warningId = res.body.id;
    // Everyone answers (the grid leader asks for help) and the dead mobile has failed at the carrier.
    await waitUntil(async () => {
      const [r] = await t.db.query(
        `SELECT count(*) FILTER (WHERE state IN ('confirmed', 'declined'))::int AS done, count(*)::int AS n
           FROM deliveries WHERE warning_id = $1`,
        [warningId],
      );
      return r.n === 5 && r.done === 5;
    }, 'all four answered and the duty office, told of the help request, confirmed');
    await waitUntil(
      async () =>
        (
          await t.db.query(
            `SELECT 1 FROM contact_attempts WHERE warning_id = $1 AND address = $2 AND status = 'failed'`,
            [warningId, PEOPLE.deadMobile.mobile],
          )
        ).length > 0,
      'dead mobile failed',
    );
  });
  afterAll(() => t?.close());

  describe('GET /v1/warnings/:id/chains', () => {
    const chains = (who: string, query = '') =>
      t.http().get(`/v1/warnings/${warningId}/chains${query}`).set(as(who));

    it('lists one row per person with state, times, answer channel, paged', async () => {
      const all = await chains('duty_officer');
      expect(all.status).toBe(200);
      expect(all.body.total).toBe(5);
      expect(all.body.items).toHaveLength(5);
      const chief = all.body.items.find(
        (r: { name: string }) => r.name === PEOPLE.villageChief.name,
      );
      expect(chief).toMatchObject({
        state: 'confirmed',
        role: 'village_responsible',
        contact: PEOPLE.villageChief.mobile,
        notWoken: false,
        escalatedFromPersonId: null,
      });
      expect(chief.firstAttemptAt).toBeTruthy();
      expect(chief.confirmedAt).toBeTruthy();
      expect(chief.answerChannel).toBeTruthy();
      expect(typeof chief.issueToAnswerSeconds).toBe('number');
      expect(chief.attempts).toBeGreaterThanOrEqual(1);

      const page1 = await chains('duty_officer', '?limit=3&offset=0');
      const page2 = await chains('duty_officer', '?limit=3&offset=3');
      expect(page1.body.items).toHaveLength(3);
      expect(page2.body.items).toHaveLength(2);
      expect(page2.body.total).toBe(5);
      const ids = [...page1.body.items, ...page2.body.items].map(
        (r: { personId: string }) => r.personId,
      );
      expect(new Set(ids).size).toBe(5);
      // The duty office was brought in by the grid leader's help request.
      const duty = all.body.items.find((r: { name: string }) => r.name === COUNTY_DUTY.name);
      expect(duty).toMatchObject({
        escalatedFromName: PEOPLE.gridLeader.name,
        escalationReason: 'help_requested',
        state: 'confirmed',
      });
    });

    it('filters by state, division prefix, grid and role', async () => {
      const names = (res: { body: { items: { name: string }[] } }) =>
        res.body.items.map((r) => r.name).sort();
      expect(names(await chains('duty_officer', '?state=declined'))).toEqual([
        PEOPLE.gridLeader.name,
      ]);
      expect((await chains('duty_officer', '?state=confirmed,declined')).body.total).toBe(5);
      expect((await chains('duty_officer', '?state=pending')).body.total).toBe(0);
      expect(names(await chains('duty_officer', '?role=resident'))).toEqual(
        [PEOPLE.resident.name, PEOPLE.deadMobile.name].sort(),
      );
      expect((await chains('duty_officer', `?grid=${GRID1}`)).body.total).toBe(3);
      expect((await chains('duty_officer', `?division=${VILLAGE}`)).body.total).toBe(4);
      expect((await chains('duty_officer', '?division=513221002')).body.total).toBe(0);
      const bad = await chains('duty_officer', '?state=asleep&limit=0');
      expect(bad.status).toBe(400);
      expect(bad.body.error.fields.map((f: { field: string }) => f.field)).toEqual(
        expect.arrayContaining(['state']),
      );
    });

    it('masks numbers for auditors and grid members; grid members see only their grid', async () => {
      const audit = await chains('auditor', '?role=grid_leader');
      expect(audit.status).toBe(200);
      expect(audit.body.items[0].contact).toBe('+86138****0002');
      const grid = await chains('grid_member');
      expect(grid.status).toBe(200);
      expect(grid.body.total).toBe(3);
      for (const r of grid.body.items) {
        expect(r.gridCode).toBe(GRID1);
        expect(r.contact).toMatch(/^\+86138\*{4}\d{4}$/);
      }
    });

    it('refuses other jurisdictions (404) and other grids (403 / 404)', async () => {
      expect((await chains('otherDuty')).status).toBe(404);
      expect((await chains('grid2')).status).toBe(404);
      expect((await chains('grid_member', `?grid=${GRID2}`)).status).toBe(403);
      const missing = await t
        .http()
        .get(`/v1/warnings/00000000-0000-4000-8000-000000000000/chains`)
        .set(as('auditor'));
      expect(missing.status).toBe(404);
      const unauth = await t.http().get(`/v1/warnings/${warningId}/chains`);
      expect(unauth.status).toBe(401);
    });
  });

  describe('GET /v1/warnings/:id/chains/:personId', () => {
    it('shows every attempt with provider ids and times, answers with raw input, and the timeline', async () => {
      const id = await personId(PEOPLE.deadMobile.ext);
      const res = await t
        .http()
        .get(`/v1/warnings/${warningId}/chains/${id}`)
        .set(as('duty_officer'));
      expect(res.status).toBe(200);
      const body = res.body;
      expect(body.person).toMatchObject({ id, name: PEOPLE.deadMobile.name, gridCode: GRID1 });
      expect(body.state).toBe('confirmed');
      const failed = body.attempts.filter(
        (a: { address: string; status: string }) =>
          a.address === PEOPLE.deadMobile.mobile && a.status === 'failed',
      );
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(failed[0].failedAt).toBeTruthy();
      expect(failed[0].queuedAt).toBeTruthy();
      const landline = body.attempts.find(
        (a: { address: string; channel: string }) =>
          a.channel === 'voice' && a.address === PEOPLE.deadMobile.landline,
      );
      expect(landline).toBeDefined();
      expect(landline.providerId).toBeTruthy();
      expect(landline.answeredAt).toBeTruthy();
      expect(body.answers.length).toBeGreaterThanOrEqual(1);
      expect(body.answers[0]).toMatchObject({ kind: 'confirm' });
      expect(body.answers[0].rawInput).toBeTruthy();
      expect(typeof body.responseSeconds.issueToAnswer).toBe('number');
      expect(body.deadline).toHaveProperty('breached');
      expect(body.escalations).toEqual({ in: [], out: [] });
      const types = body.events.map((e: { type: string }) => e.type);
      expect(types).toEqual(expect.arrayContaining(['attempt_queued', 'attempt_failed', 'answer']));
      const times = body.events.map((e: { at: string }) => new Date(e.at).getTime());
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it('shows escalation edges out of the person who asked for help and into the one told', async () => {
      const leader = await personId(PEOPLE.gridLeader.ext);
      const duty = await personId(COUNTY_DUTY.ext);
      const out = await t
        .http()
        .get(`/v1/warnings/${warningId}/chains/${leader}`)
        .set(as('auditor'));
      expect(out.status).toBe(200);
      expect(out.body.state).toBe('declined');
      // Asked for help by keypress and by SMS reply: both recorded, the first one effective.
      const answers = out.body.answers as { kind: string; effective: boolean; rawInput: string }[];
      expect(answers.every((x) => x.kind === 'help' && x.rawInput)).toBe(true);
      expect(answers.filter((x) => x.effective)).toHaveLength(1);
      expect(out.body.escalations.in).toEqual([]);
      expect(out.body.escalations.out).toEqual([
        expect.objectContaining({
          reason: 'help_requested',
          toPersonId: duty,
          toName: COUNTY_DUTY.name,
          fromName: PEOPLE.gridLeader.name,
        }),
      ]);
      expect(out.body.events.map((e: { type: string }) => e.type)).toContain('escalated_out');
      const into = await t
        .http()
        .get(`/v1/warnings/${warningId}/chains/${duty}`)
        .set(as('auditor'));
      expect(into.body.escalatedFrom).toMatchObject({
        personId: leader,
        name: PEOPLE.gridLeader.name,
        reason: 'help_requested',
      });
      expect(into.body.escalations.in).toEqual([
        expect.objectContaining({ reason: 'help_requested', fromPersonId: leader }),
      ]);
      expect(into.body.person.contact).toBe('+86138****0007');
    });

    it('masks addresses for auditors and hides people outside the grid', async () => {
      const id = await personId(PEOPLE.deadMobile.ext);
      const res = await t.http().get(`/v1/warnings/${warningId}/chains/${id}`).set(as('auditor'));
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body)).not.toContain(PEOPLE.deadMobile.mobile);
      expect(res.body.attempts.map((a: { address: string }) => a.address)).toContain(
        '+86138****0004',
      );
      const chief = await personId(PEOPLE.villageChief.ext);
      expect(
        (await t.http().get(`/v1/warnings/${warningId}/chains/${chief}`).set(as('grid_member')))
          .status,
      ).toBe(404);
      expect(
        (await t.http().get(`/v1/warnings/${warningId}/chains/${id}`).set(as('grid_member')))
          .status,
      ).toBe(200);
      const township = await personId(PEOPLE.townshipChief.ext);
      expect(
        (await t.http().get(`/v1/warnings/${warningId}/chains/${township}`).set(as('auditor')))
          .status,
      ).toBe(404);
      expect(
        (await t.http().get(`/v1/warnings/${warningId}/chains/${id}`).set(as('otherDuty'))).status,
      ).toBe(404);
    });
  });

  describe('reports', () => {
    const report = (who: string, query = '') =>
      t.http().get(`/v1/reports/warnings/${warningId}${query}`).set(as(who));

    it('gives coverage, confirmation rate and response times grouped by village, grid and role', async () => {
      const res = await report('duty_officer', '?groupBy=village');
      expect(res.status).toBe(200);
      expect(res.body.totals).toMatchObject({
        warnings: 1,
        targeted: 4,
        reached: 4,
        confirmed: 3,
        helpRequests: 1,
        coverage: 1,
        confirmationRate: 0.75,
        neverReached: 0,
      });
      expect(typeof res.body.totals.responseSeconds.median).toBe('number');
      expect(res.body.totals.responseSeconds.p90).toBeGreaterThanOrEqual(
        res.body.totals.responseSeconds.median,
      );
      expect(res.body.totals).toMatchObject({ people: 5, escalatedTo: 1 });
      // The county duty office (an escalation target) lies above any village.
      expect(res.body.groups).toEqual([
        expect.objectContaining({ key: VILLAGE, name: '渔子溪村', targeted: 4, confirmed: 3 }),
        expect.objectContaining({ key: null, people: 1, targeted: 0 }),
      ]);

      const byTownship = await report('auditor', '?groupBy=township');
      expect(byTownship.body.groups).toEqual([
        expect.objectContaining({ key: '513221001', name: '映秀镇', targeted: 4 }),
        expect.objectContaining({ key: null, people: 1 }),
      ]);

      const byGrid = await report('auditor', '?groupBy=grid');
      const grid1 = byGrid.body.groups.find((g: { key: string }) => g.key === GRID1);
      expect(grid1).toMatchObject({ name: '渔子溪村第1网格', targeted: 3, confirmed: 2 });
      expect(byGrid.body.groups.find((g: { key: string | null }) => g.key === null)).toMatchObject({
        targeted: 1,
        confirmed: 1,
      });

      const byRole = await report('auditor', '?groupBy=role');
      const residents = byRole.body.groups.find((g: { key: string }) => g.key === 'resident');
      expect(residents).toMatchObject({ targeted: 2, confirmed: 2, confirmationRate: 1 });
      const leader = byRole.body.groups.find((g: { key: string }) => g.key === 'grid_leader');
      expect(leader).toMatchObject({ targeted: 1, confirmed: 0, confirmationRate: 0 });

      expect((await report('auditor', '?groupBy=county')).status).toBe(400);
    });

    it('lists failed contact points (dead numbers), masked for auditors', async () => {
      const duty = await report('duty_officer');
      const dead = duty.body.failedContacts.find(
        (c: { contact: string }) => c.contact === PEOPLE.deadMobile.mobile,
      );
      expect(dead).toBeDefined();
      expect(dead.failures).toBeGreaterThanOrEqual(1);
      expect(dead.people).toEqual([PEOPLE.deadMobile.name]);
      const audit = await report('auditor');
      expect(JSON.stringify(audit.body)).not.toContain(PEOPLE.deadMobile.mobile);
      expect(audit.body.failedContacts.map((c: { contact: string }) => c.contact)).toContain(
        '+86138****0004',
      );
      expect(audit.body.neverReached).toEqual([]);
    });

    it('scopes grid members to their grid and refuses other jurisdictions', async () => {
      const grid = await report('grid_member', '?groupBy=grid');
      expect(grid.status).toBe(200);
      expect(grid.body.totals.targeted).toBe(3);
      expect(grid.body.groups.map((g: { key: string }) => g.key)).toEqual([GRID1]);
      expect((await report('grid2')).status).toBe(404);
      expect((await report('otherDuty')).status).toBe(404);
    });

    it('reports over a period, keeping exercises and tests apart from actual warnings', async () => {
      const from = new Date(Date.now() - 3600_000).toISOString();
      const to = new Date(Date.now() + 3600_000).toISOString();
      const period = (who: string, status?: string) =>
        t
          .http()
          .get('/v1/reports/period')
          .query({ from, to, groupBy: 'role', ...(status ? { status } : {}) })
          .set(as(who));
      const actual = await period('auditor');
      expect(actual.status).toBe(200);
      expect(actual.body.scope.status).toBe('actual');
      expect(actual.body.totals).toMatchObject({ warnings: 1, targeted: 4, confirmed: 3 });
      const exercise = await period('auditor', 'exercise');
      expect(exercise.body.totals).toMatchObject({ warnings: 0, targeted: 0 });
      expect(exercise.body.groups).toEqual([]);
      expect((await period('duty_officer')).body.totals.warnings).toBe(1);
      expect((await period('otherDuty')).body.totals.warnings).toBe(0);
      expect((await period('grid_member')).body.totals.targeted).toBe(3);
      const bad = await t
        .http()
        .get('/v1/reports/period')
        .query({ from: 'yesterday', status: 'drill' })
        .set(as('auditor'));
      expect(bad.status).toBe(400);
      expect(bad.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
        'from',
        'status',
      ]);
    });
  });

  describe('CSV exports', () => {
    it('streams the chains as CSV with a BOM, English or Chinese headers, one row per person', async () => {
      const en = await t.http().get(`/v1/warnings/${warningId}/chains.csv`).set(as('duty_officer'));
      expect(en.status).toBe(200);
      expect(en.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
      expect(en.headers['content-disposition']).toContain('attachment');
      expect(en.text.startsWith('\uFEFF')).toBe(true);
      const rows = parseCsv(en.text);
      expect(rows[0].slice(0, 3)).toEqual(['person_id', 'external_id', 'name']);
      expect(rows).toHaveLength(6);
      expect(en.text).toContain(PEOPLE.deadMobile.mobile);

      const zh = await t
        .http()
        .get(`/v1/warnings/${warningId}/chains.csv?headers=zh&state=confirmed`)
        .set(as('auditor'));
      expect(zh.status).toBe(200);
      const zhRows = parseCsv(zh.text);
      expect(zhRows[0].slice(0, 3)).toEqual(['人员ID', '人员编号', '姓名']);
      expect(zhRows).toHaveLength(5);
      expect(zh.text).not.toContain(PEOPLE.deadMobile.mobile);
      expect(zh.text).toContain('+86138****0004');

      const grid = await t
        .http()
        .get(`/v1/warnings/${warningId}/chains.csv`)
        .set(as('grid_member'));
      expect(parseCsv(grid.text)).toHaveLength(4);
      expect(
        (await t.http().get(`/v1/warnings/${warningId}/chains.csv`).set(as('otherDuty'))).status,
      ).toBe(404);
      expect(
        (
          await t
            .http()
            .get(`/v1/warnings/${warningId}/chains.csv?grid=${GRID2}`)
            .set(as('grid_member'))
        ).status,
      ).toBe(403);
    });

    it('streams the report table as CSV, grouped as asked', async () => {
      const en = await t
        .http()
        .get(`/v1/reports/warnings/${warningId}.csv?groupBy=role`)
        .set(as('auditor'));
      expect(en.status).toBe(200);
      expect(en.text.startsWith('\uFEFF')).toBe(true);
      const rows = parseCsv(en.text);
      expect(rows[0]).toEqual([
        'group_by',
        'group',
        'name',
        'people',
        'targeted',
        'reached',
        'confirmed',
        'coverage',
        'confirmation_rate',
        'median_response_s',
        'p90_response_s',
        'deadline_breaches',
        'never_reached',
      ]);
      expect(
        rows
          .slice(1)
          .map((r) => r[1])
          .sort(),
      ).toEqual(['duty_officer', 'grid_leader', 'resident', 'village_responsible']);
      const zh = await t
        .http()
        .get(`/v1/reports/warnings/${warningId}.csv?headers=zh&groupBy=village`)
        .set(as('duty_officer'));
      const zhRows = parseCsv(zh.text);
      expect(zhRows[0][0]).toBe('分组方式');
      expect(zhRows).toHaveLength(3);
      expect(zhRows[1].slice(0, 5)).toEqual(['村', VILLAGE, '渔子溪村', '4', '4']);
      expect(
        (await t.http().get(`/v1/reports/warnings/${warningId}.csv`).set(as('grid2'))).status,
      ).toBe(404);
    });
  });

  describe('CSV values in Chinese', () => {
    it('translates states, roles, channels and reasons with headers=zh, not only the headers', async () => {
      const en = await t.http().get(`/v1/warnings/${warningId}/chains.csv`).set(as('auditor'));
      const enRows = parseCsv(en.text);
      const col = (rows: string[][], name: string) => rows[0].indexOf(name);
      const leaderEn = enRows.find((r) => r[2] === PEOPLE.gridLeader.name)!;
      expect(leaderEn[col(enRows, 'role')]).toBe('grid_leader');
      expect(leaderEn[col(enRows, 'state')]).toBe('declined');

      const zh = await t
        .http()
        .get(`/v1/warnings/${warningId}/chains.csv?headers=zh`)
        .set(as('auditor'));
      expect(zh.text.startsWith('\uFEFF')).toBe(true);
      const rows = parseCsv(zh.text);
      const leader = rows.find((r) => r[2] === PEOPLE.gridLeader.name)!;
      expect(leader[col(rows, '角色')]).toBe('网格长');
      expect(leader[col(rows, '状态')]).toBe('求助');
      expect(leader[col(rows, '未叫醒')]).toBe('否');
      const chief = rows.find((r) => r[2] === PEOPLE.villageChief.name)!;
      expect(chief[col(rows, '状态')]).toBe('已确认');
      expect(['语音电话', '短信', '确认链接']).toContain(chief[col(rows, '应答渠道')]);
      const duty = rows.find((r) => r[2] === COUNTY_DUTY.name)!;
      expect(duty[col(rows, '升级原因')]).toBe('请求支援');
      expect(duty[col(rows, '角色')]).toBe('值班员');
      expect(zh.text).not.toMatch(/,(confirmed|declined|grid_leader|help_requested),/);

      const byRole = parseCsv(
        (
          await t
            .http()
            .get(`/v1/reports/warnings/${warningId}.csv?headers=zh&groupBy=role`)
            .set(as('auditor'))
        ).text,
      );
      const leaderGroup = byRole.find((r) => r[1] === 'grid_leader')!;
      expect(leaderGroup.slice(0, 3)).toEqual(['角色', 'grid_leader', '网格长']);
    });

    it('exports a period report as CSV', async () => {
      const from = new Date(Date.now() - 3600_000).toISOString();
      const to = new Date(Date.now() + 3600_000).toISOString();
      const res = await t
        .http()
        .get('/v1/reports/period.csv')
        .query({ from, to, groupBy: 'village', headers: 'zh' })
        .set(as('auditor'));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
      expect(res.headers['content-disposition']).toContain('report-actual-');
      const rows = parseCsv(res.text);
      expect(rows[0][0]).toBe('分组方式');
      expect(rows[1].slice(0, 5)).toEqual(['村', VILLAGE, '渔子溪村', '4', '4']);
      const bad = await t
        .http()
        .get('/v1/reports/period.csv')
        .query({ status: 'drill' })
        .set(as('auditor'));
      expect(bad.status).toBe(400);
      expect((await t.http().get('/v1/reports/period.csv')).status).toBe(401);
    });
  });

  describe('spreadsheet exports (.xlsx)', () => {
    // superagent's parser signature: the response is a readable stream.
    const binary = (res: unknown, done: (err: Error | null, body: Buffer) => void) => {
      const stream = res as NodeJS.ReadableStream;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => done(null, Buffer.concat(chunks)));
      stream.on('error', (err: Error) => done(err, Buffer.alloc(0)));
    };
    const xlsx = async (path: string, who: string) => {
      const res = await t.http().get(path).set(as(who)).buffer(true).parse(binary);
      return res;
    };
    const load = async (body: Buffer) => {
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(body as unknown as ArrayBuffer);
      return wb;
    };
    /** The sheet's rows as objects keyed by the header row. */
    const records = (ws: ExcelJS.Worksheet) => {
      const header = (ws.getRow(1).values as unknown[]).slice(1) as string[];
      const out: Record<string, ExcelJS.Cell>[] = [];
      for (let i = 2; i <= ws.rowCount; i++) {
        const row = ws.getRow(i);
        out.push(Object.fromEntries(header.map((h, j) => [h, row.getCell(j + 1)])));
      }
      return out;
    };

    it('writes the chains with ids, phone numbers and codes as text, times as dates, counts as numbers', async () => {
      const res = await xlsx(`/v1/warnings/${warningId}/chains.xlsx`, 'duty_officer');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      );
      expect(res.headers['content-disposition']).toContain(`chains-${warningId}.xlsx`);
      const wb = await load(res.body as Buffer);
      const ws = wb.getWorksheet('chains')!;
      expect(ws).toBeDefined();
      const rows = records(ws);
      expect(rows).toHaveLength(5);
      const json = (await t.http().get(`/v1/warnings/${warningId}/chains`).set(as('duty_officer')))
        .body.items as Record<string, unknown>[];
      const dead = rows.find((r) => r.name.value === PEOPLE.deadMobile.name)!;
      const deadJson = json.find((r) => r.name === PEOPLE.deadMobile.name)!;
      for (const key of ['person_id', 'external_id', 'division_code', 'grid_code', 'contact']) {
        expect(dead[key].type).toBe(ExcelJS.ValueType.String);
      }
      expect(dead.person_id.value).toBe(deadJson.personId);
      expect(dead.division_code.value).toBe(VILLAGE);
      expect(dead.grid_code.value).toBe(GRID1);
      expect(dead.contact.value).toBe(PEOPLE.deadMobile.mobile);
      expect(dead.attempts.type).toBe(ExcelJS.ValueType.Number);
      expect(dead.attempts.value).toBe(deadJson.attempts);
      expect(dead.state.value).toBe('confirmed');
      expect(dead.not_woken.type).toBe(ExcelJS.ValueType.Boolean);
      expect(dead.not_woken.value).toBe(false);
      expect(dead.issue_to_answer_s.type).toBe(ExcelJS.ValueType.Number);
      // Dates are date cells showing Asia/Shanghai wall-clock time (UTC+8), to the second.
      expect(dead.confirmed_at.type).toBe(ExcelJS.ValueType.Date);
      expect(dead.confirmed_at.numFmt).toBe('yyyy-mm-dd hh:mm:ss');
      const confirmed = new Date(deadJson.confirmedAt as string).getTime();
      expect(
        Math.abs((dead.confirmed_at.value as Date).getTime() - (confirmed + 8 * 3600_000)),
      ).toBeLessThan(1000);
      // Header row frozen, with a filter; a second sheet says what the file holds.
      expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
      const about = wb.getWorksheet('about')!;
      const aboutText = JSON.stringify(about.getSheetValues());
      expect(aboutText).toContain(warningId);
      expect(aboutText).toContain('Asia/Shanghai');
      expect(aboutText).toContain('in full');

      const utc = await load(
        (await xlsx(`/v1/warnings/${warningId}/chains.xlsx?tz=UTC`, 'duty_officer')).body,
      );
      const deadUtc = records(utc.getWorksheet('chains')!).find(
        (r) => r.name.value === PEOPLE.deadMobile.name,
      )!;
      expect(Math.abs((deadUtc.confirmed_at.value as Date).getTime() - confirmed)).toBeLessThan(
        1000,
      );
      const badTz = await t
        .http()
        .get(`/v1/warnings/${warningId}/chains.xlsx?tz=Mars/Olympus`)
        .set(as('duty_officer'));
      expect(badTz.status).toBe(400);
      expect(badTz.body.error.fields[0].field).toBe('tz');
    });

    it('masks numbers for auditors and translates values in Chinese', async () => {
      const res = await xlsx(`/v1/warnings/${warningId}/chains.xlsx?headers=zh`, 'auditor');
      expect(res.status).toBe(200);
      const wb = await load(res.body);
      const rows = records(wb.getWorksheet('叫应链')!);
      expect(rows).toHaveLength(5);
      const leader = rows.find((r) => r['姓名'].value === PEOPLE.gridLeader.name)!;
      expect(leader['角色'].value).toBe('网格长');
      expect(leader['状态'].value).toBe('求助');
      expect(leader['联系方式'].value).toBe('+86138****0002');
      expect(leader['未叫醒'].value).toBe('否');
      const duty = rows.find((r) => r['姓名'].value === COUNTY_DUTY.name)!;
      expect(duty['升级原因'].value).toBe('请求支援');
      expect(duty['网格代码'].value).toBeNull();
      for (const r of rows) expect(String(r['联系方式'].value)).toMatch(/\*{4}/);
      expect(JSON.stringify(wb.getWorksheet('说明')!.getSheetValues())).toContain('已脱敏');

      const grid = await load(
        (await xlsx(`/v1/warnings/${warningId}/chains.xlsx`, 'grid_member')).body,
      );
      expect(records(grid.getWorksheet('chains')!)).toHaveLength(3);
      expect(
        (await t.http().get(`/v1/warnings/${warningId}/chains.xlsx`).set(as('otherDuty'))).status,
      ).toBe(404);
      expect((await t.http().get(`/v1/warnings/${warningId}/chains.xlsx`)).status).toBe(401);
    });

    it('writes the report table with codes as text, rates as percentages, role names in Chinese', async () => {
      const res = await xlsx(
        `/v1/reports/warnings/${warningId}.xlsx?groupBy=role&headers=zh`,
        'auditor',
      );
      expect(res.status).toBe(200);
      const rows = records((await load(res.body)).getWorksheet('统计')!);
      const leader = rows.find((r) => r['分组'].value === 'grid_leader')!;
      expect(leader['分组方式'].value).toBe('角色');
      expect(leader['名称'].value).toBe('网格长');
      expect(leader['应叫人数'].type).toBe(ExcelJS.ValueType.Number);
      expect(leader['确认率'].value).toBe(0);
      expect(leader['确认率'].numFmt).toBe('0.00%');
      const resident = rows.find((r) => r['分组'].value === 'resident')!;
      expect(resident['确认率'].value).toBe(1);

      const byVillage = records(
        (
          await load(
            (await xlsx(`/v1/reports/warnings/${warningId}.xlsx?groupBy=village`, 'duty_officer'))
              .body,
          )
        ).getWorksheet('report')!,
      );
      expect(byVillage[0].group.type).toBe(ExcelJS.ValueType.String);
      expect(byVillage[0].group.value).toBe(VILLAGE);
      expect(byVillage[0].targeted.value).toBe(4);
      expect(
        (await t.http().get(`/v1/reports/warnings/${warningId}.xlsx`).set(as('grid2'))).status,
      ).toBe(404);

      const from = new Date(Date.now() - 3600_000).toISOString();
      const to = new Date(Date.now() + 3600_000).toISOString();
      const period = await t
        .http()
        .get('/v1/reports/period.xlsx')
        .query({ from, to, groupBy: 'grid' })
        .set(as('auditor'))
        .buffer(true)
        .parse(binary);
      expect(period.status).toBe(200);
      const grid1 = records((await load(period.body)).getWorksheet('report')!).find(
        (r) => r.group.value === GRID1,
      )!;
      expect(grid1.group.type).toBe(ExcelJS.ValueType.String);
      expect(grid1.targeted.value).toBe(3);
    });
  });

  describe('large exports', () => {
    const N = 3000;
    let bulkId: string;
    beforeAll(async () => {
      // A test-status warning with N people, written straight to the database.
      const [w] = await t.db.query(
        `INSERT INTO warnings (kind, status, issuer_name, issuer_division, expires_at)
         VALUES ('meteorological_risk', 'test', 'bulk', '513221', now() + interval '1 day') RETURNING id`,
      );
      bulkId = w.id;
      await t.db.query(
        `INSERT INTO people (external_id, name, role, division_code, grid_code)
         SELECT 'BULK-' || i, '居民' || i, 'resident', '${VILLAGE}', '${GRID2}' FROM generate_series(1, ${N}) i`,
      );
      await t.db.query(
        `INSERT INTO contact_points (person_id, kind, value, priority)
         SELECT id, 'mobile', '+86139' || lpad(substr(external_id, 6), 8, '0'), 1 FROM people WHERE external_id LIKE 'BULK-%'`,
      );
      await t.db.query(
        `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code, state)
         SELECT $1, id, 1, 'alert', 'resident', division_code, grid_code, 'sent' FROM people WHERE external_id LIKE 'BULK-%'`,
        [bulkId],
      );
    });

    it('streams every row through the cursor and pages through them', async () => {
      const csv = await t.http().get(`/v1/warnings/${bulkId}/chains.csv`).set(as('auditor'));
      expect(csv.status).toBe(200);
      const rows = parseCsv(csv.text);
      expect(rows).toHaveLength(N + 1);
      expect(new Set(rows.slice(1).map((r) => r[0])).size).toBe(N);
      expect(rows[1][6]).toMatch(/^\+86139\*{4}\d{4}$/);
      const page = await t
        .http()
        .get(`/v1/warnings/${bulkId}/chains?limit=1000&offset=${N - 500}`)
        .set(as('auditor'));
      expect(page.body).toMatchObject({ total: N, limit: 1000, offset: N - 500 });
      expect(page.body.items).toHaveLength(500);
      // Grid 2 sees this one; grid 1 does not.
      expect(
        (await t.http().get(`/v1/warnings/${bulkId}/chains?limit=1`).set(as('grid2'))).body.total,
      ).toBe(N);
      expect(
        (await t.http().get(`/v1/warnings/${bulkId}/chains`).set(as('grid_member'))).status,
      ).toBe(404);
    });

    it('streams a large workbook row by row', async () => {
      const res = await t
        .http()
        .get(`/v1/warnings/${bulkId}/chains.xlsx`)
        .set(as('auditor'))
        .buffer(true)
        .parse((r, done) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => done(null, Buffer.concat(chunks)));
        });
      expect(res.status).toBe(200);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(res.body as ArrayBuffer);
      const ws = wb.getWorksheet('chains')!;
      expect(ws.rowCount).toBe(N + 1);
      expect(ws.getRow(2).getCell(7).value).toMatch(/^\+86139\*{4}\d{4}$/);
    });

    it('keeps test warnings out of the actual figures', async () => {
      const from = new Date(Date.now() - 3600_000).toISOString();
      const to = new Date(Date.now() + 3600_000).toISOString();
      const period = async (status: string) =>
        (await t.http().get('/v1/reports/period').query({ from, to, status }).set(as('auditor')))
          .body;
      expect((await period('test')).totals).toMatchObject({
        warnings: 1,
        targeted: N,
        reached: 0,
        neverReached: N,
        coverage: 0,
      });
      expect((await period('actual')).totals).toMatchObject({ warnings: 1, targeted: 4 });
    });
  });

  describe('times against deadlines, from each person’s entry into the chain', () => {
    /**
     * An exercise warning written straight to the database with known times (no clock in the
     * assertions): T0 is the issue; the township chief is brought in by an escalation 10 minutes
     * later. The policy's first step waits `wait` seconds and its reach deadline is `reach`.
     */
    let timedId: string;
    let reach: number;
    let wait: number;
    const PEOPLE_TIMES = {
      inTime: PEOPLE.villageChief,
      late: PEOPLE.gridLeader,
      silent: PEOPLE.resident,
      escalated: PEOPLE.townshipChief,
    };
    beforeAll(async () => {
      const [pol] = await t.db.query(
        `SELECT id, reach_deadline_seconds AS reach, (steps->0->>'waitSeconds')::int AS wait
           FROM escalation_policies WHERE name = '临灾预警-责任人'`,
      );
      reach = pol.reach;
      wait = pol.wait;
      const [w] = await t.db.query(
        `INSERT INTO warnings (kind, status, issuer_name, issuer_division, expires_at, created_at)
         VALUES ('meteorological_risk', 'exercise', 'timed', '513221', now() + interval '1 day',
                 now() - interval '50 minutes') RETURNING id, created_at AS "createdAt"`,
      );
      timedId = w.id;
      const t0 = new Date(w.createdAt).getTime();
      const at = (s: number) => new Date(t0 + s * 1000);
      const late = Math.max(reach, wait) + 60;
      const row = async (
        ext: string,
        role: string,
        state: string,
        times: { entered: number; delivered?: number; confirmed?: number },
        from?: string,
      ) =>
        (
          await t.db.query(
            `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code,
                                     state, policy_id, step, step_started_at, entered_at, created_at,
                                     delivered_at, confirmed_at, answer_channel, escalated_from, escalation_reason)
             SELECT $1, p.id, 1, 'alert', $3, p.division_code, p.grid_code, $4, $5, 1, $6, $6, $6, $7, $8,
                    CASE WHEN $8::timestamptz IS NOT NULL THEN 'voice' END, $9::uuid,
                    CASE WHEN $9::uuid IS NOT NULL THEN 'help_requested' END
               FROM people p WHERE p.external_id = $2 RETURNING id`,
            [
              timedId,
              ext,
              role,
              state,
              pol.id,
              at(times.entered),
              times.delivered === undefined ? null : at(times.delivered),
              times.confirmed === undefined ? null : at(times.confirmed),
              from ?? null,
            ],
          )
        )[0].id as string;
      // Reached at once, answered just before the step's wait ran out.
      const inTime = await row(PEOPLE_TIMES.inTime.ext, 'village_responsible', 'confirmed', {
        entered: 0,
        delivered: 5,
        confirmed: wait - 1,
      });
      // Reached after the reach deadline, answered after the step's deadline.
      const lateId = await row(PEOPLE_TIMES.late.ext, 'grid_leader', 'confirmed', {
        entered: 0,
        delivered: late,
        confirmed: late + 30,
      });
      // Never reached.
      await row(PEOPLE_TIMES.silent.ext, 'resident', 'sent', { entered: 0 });
      // Brought in 10 minutes after the issue (past the reach deadline counted from the issue),
      // reached 5 s after their own entry.
      const escalated = await row(
        PEOPLE_TIMES.escalated.ext,
        'township_responsible',
        'confirmed',
        { entered: 600, delivered: 605, confirmed: 620 },
        inTime,
      );
      // Notices: two edges into the township chief (made at 600 s and 630 s), the first one
      // acknowledged by SMS reply at 642 s, the second at 700 s by keypress; one edge into the
      // village chief, never acknowledged.
      const edge = (from: string, to: string, made: number, ack?: [number, string]) =>
        t.db.query(
          `INSERT INTO escalations (warning_id, from_delivery_id, to_delivery_id, reason, created_at,
                                    acknowledged_at, ack_channel, resolved_at, resolution)
           VALUES ($1, $2, $3, 'help_requested', $4, $5, $6, $5, CASE WHEN $5::timestamptz IS NOT NULL THEN 'acknowledged' END)`,
          [timedId, from, to, at(made), ack ? at(ack[0]) : null, ack?.[1] ?? null],
        );
      await edge(inTime, escalated, 600, [642, 'sms']);
      await edge(lateId, escalated, 630, [700, 'voice']);
      await edge(lateId, inTime, 100);
      await t.db.query(
        `INSERT INTO answers (delivery_id, channel, kind, raw_input, dedupe_key, effective, about, received_at)
         VALUES ($1, 'sms', 'confirm', '1', 'timed-notice-ack', true, 'notice', $2)`,
        [escalated, at(642)],
      );
    });

    it('gives /chains rows reachedInTime and answeredInStepTime as /responses has them', async () => {
      expect(reach).toBeLessThan(600);
      const chains = await t.http().get(`/v1/warnings/${timedId}/chains`).set(as('auditor'));
      expect(chains.status).toBe(200);
      const byName = (items: Record<string, unknown>[]) =>
        Object.fromEntries(items.map((r) => [r.name as string, r]));
      const rows = byName(chains.body.items);
      const expected = {
        [PEOPLE_TIMES.inTime.name]: {
          reachedInTime: true,
          answeredInStepTime: true,
          deadlineBreached: false,
        },
        [PEOPLE_TIMES.late.name]: {
          reachedInTime: false,
          answeredInStepTime: false,
          deadlineBreached: true,
        },
        [PEOPLE_TIMES.silent.name]: {
          reachedInTime: null,
          answeredInStepTime: null,
          deadlineBreached: true,
        },
        [PEOPLE_TIMES.escalated.name]: {
          reachedInTime: true,
          answeredInStepTime: true,
          deadlineBreached: false,
        },
      };
      for (const [name, want] of Object.entries(expected))
        expect([name, rows[name]]).toEqual([name, expect.objectContaining(want)]);

      // The same definitions as /responses.
      const responses = await t.http().get(`/v1/warnings/${timedId}/responses`).set(as('auditor'));
      expect(responses.status).toBe(200);
      const people = byName(responses.body);
      for (const name of Object.keys(expected))
        expect([name, rows[name].reachedInTime, rows[name].answeredInStepTime]).toEqual([
          name,
          people[name].reachedInTime,
          people[name].answeredInStepTime,
        ]);

      // And the person's timeline.
      const late = await t
        .http()
        .get(`/v1/warnings/${timedId}/chains/${await personId(PEOPLE_TIMES.late.ext)}`)
        .set(as('auditor'));
      expect(late.body.deadline).toMatchObject({
        breached: true,
        reachedInTime: false,
        answeredInStepTime: false,
      });
    });

    it('exports them as columns, 是 / 否 in Chinese', async () => {
      const en = parseCsv(
        (await t.http().get(`/v1/warnings/${timedId}/chains.csv`).set(as('auditor'))).text,
      );
      const col = (rows: string[][], name: string) => {
        const i = rows[0].indexOf(name);
        expect([name, i >= 0]).toEqual([name, true]);
        return i;
      };
      const late = en.find((r) => r[2] === PEOPLE_TIMES.late.name)!;
      const silent = en.find((r) => r[2] === PEOPLE_TIMES.silent.name)!;
      expect(late[col(en, 'reached_in_time')]).toBe('false');
      expect(late[col(en, 'answered_in_step_time')]).toBe('false');
      expect(silent[col(en, 'reached_in_time')]).toBe('');
      const zh = parseCsv(
        (await t.http().get(`/v1/warnings/${timedId}/chains.csv?headers=zh`).set(as('auditor')))
          .text,
      );
      const escalated = zh.find((r) => r[2] === PEOPLE_TIMES.escalated.name)!;
      expect(escalated[col(zh, '时限内送达')]).toBe('是');
      expect(escalated[col(zh, '本步骤时限内应答')]).toBe('是');
    });

    it('shows a superior’s acknowledgement of a notice: per edge and as their notice response time', async () => {
      const chains = await t.http().get(`/v1/warnings/${timedId}/chains`).set(as('auditor'));
      const row = (name: string) =>
        chains.body.items.find((r: { name: string }) => r.name === name);
      // Measured from the first edge to them (600 s) to their first acknowledgement (642 s).
      expect(row(PEOPLE_TIMES.escalated.name)).toMatchObject({
        noticeAckSeconds: 42,
        noticeAckChannel: 'sms',
      });
      expect(row(PEOPLE_TIMES.escalated.name).noticeAcknowledgedAt).toBeTruthy();
      expect(row(PEOPLE_TIMES.inTime.name)).toMatchObject({
        noticeAckSeconds: null,
        noticeAckChannel: null,
        noticeAcknowledgedAt: null,
      });
      expect(row(PEOPLE_TIMES.inTime.name).firstNoticeAt).toBeTruthy();
      expect(row(PEOPLE_TIMES.silent.name)).toMatchObject({
        firstNoticeAt: null,
        noticeAckSeconds: null,
      });

      const responses = await t.http().get(`/v1/warnings/${timedId}/responses`).set(as('auditor'));
      const person = responses.body.find(
        (r: { name: string }) => r.name === PEOPLE_TIMES.escalated.name,
      );
      expect(person).toMatchObject({ noticeAckSeconds: 42, noticeAckChannel: 'sms' });
      expect(new Date(person.noticeAcknowledgedAt).getTime()).toBe(
        new Date(row(PEOPLE_TIMES.escalated.name).noticeAcknowledgedAt).getTime(),
      );

      const timeline = await t
        .http()
        .get(`/v1/warnings/${timedId}/chains/${await personId(PEOPLE_TIMES.escalated.ext)}`)
        .set(as('auditor'));
      expect(timeline.status).toBe(200);
      const edges = timeline.body.escalations.in as Record<string, unknown>[];
      expect(edges).toEqual([
        expect.objectContaining({
          fromName: PEOPLE_TIMES.inTime.name,
          ackChannel: 'sms',
          ackSeconds: 42,
          resolution: 'acknowledged',
        }),
        expect.objectContaining({
          fromName: PEOPLE_TIMES.late.name,
          ackChannel: 'voice',
          ackSeconds: 70,
          resolution: 'acknowledged',
        }),
      ]);
      expect(edges.every((e) => e.acknowledgedAt)).toBe(true);
      expect(timeline.body.responseSeconds.noticeAck).toBe(42);
      expect(timeline.body.noticeAckChannel).toBe('sms');
      expect(timeline.body.answers).toEqual([
        expect.objectContaining({ about: 'notice', channel: 'sms', kind: 'confirm' }),
      ]);
      const acks = timeline.body.events.filter(
        (e: { type: string }) => e.type === 'notice_acknowledged',
      );
      expect(acks.map((e: { channel: string }) => e.channel)).toEqual(['sms', 'voice']);
      const answer = timeline.body.events.find((e: { type: string }) => e.type === 'answer');
      expect(answer.about).toBe('notice');

      // An edge not acknowledged shows as open.
      const into = await t
        .http()
        .get(`/v1/warnings/${timedId}/chains/${await personId(PEOPLE_TIMES.inTime.ext)}`)
        .set(as('auditor'));
      expect(into.body.escalations.in).toEqual([
        expect.objectContaining({
          acknowledgedAt: null,
          ackChannel: null,
          ackSeconds: null,
          resolution: null,
        }),
      ]);

      // And in the export.
      const zh = parseCsv(
        (await t.http().get(`/v1/warnings/${timedId}/chains.csv?headers=zh`).set(as('auditor')))
          .text,
      );
      const header = zh[0];
      const chief = zh.find((r) => r[2] === PEOPLE_TIMES.escalated.name)!;
      expect(chief[header.indexOf('通知至确认(秒)')]).toBe('42');
      expect(chief[header.indexOf('通知确认渠道')]).toBe('短信');
    });

    it('counts step deadlines missed beside reach-deadline breaches in the report summaries', async () => {
      const one = await t.http().get(`/v1/reports/warnings/${timedId}`).set(as('auditor'));
      expect(one.status).toBe(200);
      expect(one.body.totals).toMatchObject({ deadlineBreaches: 2, stepDeadlineMissed: 1 });
      const from = new Date(Date.now() - 3600_000).toISOString();
      const to = new Date(Date.now() + 3600_000).toISOString();
      const period = await t
        .http()
        .get('/v1/reports/period')
        .query({ from, to, status: 'exercise' })
        .set(as('auditor'));
      expect(period.status).toBe(200);
      expect(period.body.totals).toMatchObject({
        warnings: 1,
        deadlineBreaches: 2,
        stepDeadlineMissed: 1,
      });
    });
  });
});
