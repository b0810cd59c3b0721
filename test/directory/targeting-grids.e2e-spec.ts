import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'targeting-grids-e2e-secret'.padEnd(40, 'g');
const GRID_2 = '513221001001002';
/** Two people of grid 2 of the test village (the fixture's people are in grid 1 or above it). */
const GRID_2_PEOPLE = [
  { ext: 'P-G2L', name: '孙网格长', role: 'grid_leader', mobile: '+8613800000731' },
  { ext: 'P-G2R', name: '周居民', role: 'resident', mobile: '+8613800000732' },
];
const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ${GRID_2_PEOPLE.map((p) => `('${p.ext}', '${p.name}', '${p.role}', '513221001001', '${GRID_2}')`).join(', ')};
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ${GRID_2_PEOPLE.map((p) => `('${p.ext}', '${p.mobile}')`).join(', ')}
    ) AS c(ext, mobile) ON c.ext = people.external_id;`;

describe('grid codes as warning targets (网格)', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) + extraSql });
    for (const p of [...GRID_2_PEOPLE, ...Object.values(PEOPLE)])
      t.sandbox!.carrier.setProfile(p.mobile, 'silent');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a warning to a grid code reaches that grid’s people and no one else, and names the grid', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(imminentWarning({ areas: [GRID_2], hazardPoints: [], extent: '第2网格后山' }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const reached = await waitUntil(async () => {
      const rows: { ext: string }[] = await t.db.query(
        `SELECT p.external_id AS ext FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 ORDER BY 1`,
        [id],
      );
      return rows.length ? rows.map((r) => r.ext) : undefined;
    }, 'the deliveries of the warning');
    expect(reached).toEqual(['P-G2L', 'P-G2R']);
    const [v] = await t.db.query(
      `SELECT v.areas, v.content->'areas' AS named FROM warning_versions v WHERE v.warning_id = $1`,
      [id],
    );
    expect(v.areas).toEqual([GRID_2]);
    expect(v.named).toEqual([{ code: GRID_2, name: '渔子溪村第2网格' }]);
    const sms = await waitUntil(
      async () =>
        t
          .sandbox!.carrier.events({ type: 'sms.created', to: GRID_2_PEOPLE[1].mobile })
          .map((e) => String((e.data as { body: string }).body))[0],
      'the warning SMS to the grid’s resident',
    );
    expect(sms).toContain('渔子溪村第2网格');
  });

  it('the recipients preview counts a grid’s people', async () => {
    const res = await t
      .http()
      .post('/v1/directory/targeting/preview')
      .set(duty())
      .send({ areas: [GRID_2] });
    expect(res.status).toBe(201);
    expect(res.body.total).toBe(2);
  });

  it.each([
    ['an unknown grid', '513221001001999'],
    ['a malformed code', '513221001001 2'],
    ['a 10-digit code (neither a division nor a grid)', '5132210010'],
  ])('%s is a 400 naming areas', async (_what, code) => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(imminentWarning({ areas: [code] }));
    expect(res.status).toBe(400);
    const fields = (res.body.error.fields as { field: string; message: string }[]).filter((f) =>
      f.field.startsWith('areas'),
    );
    expect(fields.length).toBeGreaterThan(0);
  });

  it('a grid outside the duty officer’s county is refused (403 naming areas)', async () => {
    await t.db.query(
      `INSERT INTO divisions (code, name, level, parent_code) VALUES
         ('510100001', '某街道', 'township', '510100'), ('510100001001', '某社区', 'village', '510100001');
       INSERT INTO grids (code, name, village_code) VALUES ('510100001001001', '某社区第1网格', '510100001001')`,
    );
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(imminentWarning({ areas: ['510100001001001'] }));
    expect(res.status).toBe(403);
    expect(res.body.error.fields[0].field).toBe('areas');
  });
});
