import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { validateXML } from 'xmllint-wasm';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { hoursFromNow } from '../helpers/warning-bodies';
import { SEND_QUEUES } from '../helpers/send-queues';

const APP_SECRET = 'lifecycle-e2e-secret'.padEnd(40, 'y');
const XSD = readFileSync(join(__dirname, '../../src/modules/warnings/cap/CAP-v1.2.xsd'), 'utf8');

function riskWarning(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'meteorological_risk',
    level: 'orange',
    hazard: 'landslide',
    headline: '汶川县映秀镇地质灾害气象风险橙色预警',
    description: '受强降雨影响，映秀镇地质灾害风险高。',
    instruction: '加强巡查，做好撤离准备',
    areas: ['513221001001'],
    audience: ['village_responsible', 'grid_leader'],
    effective: hoursFromNow(0),
    expires: hoursFromNow(24),
    ...overrides,
  };
}

describe('warnings: validation, idempotency, update, cancel and CAP', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const count = async () =>
    (await t.db.query(`SELECT count(*)::int AS n FROM warnings`))[0].n as number;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: { TWILIO_CALLS_PER_SECOND: '5' },
    });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'confirms');
  });
  afterAll(() => t.close());

  describe('a missing or wrong field is a 400 naming the field, and nothing is created', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'imminent without onset',
        {
          kind: 'imminent',
          hazardPoints: ['HP-1'],
          extent: 'x',
          impact: { people: 1, households: 1 },
          shelter: 's',
        },
        'onset',
      ],
      [
        'imminent without shelter',
        {
          kind: 'imminent',
          onset: hoursFromNow(1),
          extent: 'x',
          impact: { people: 1, households: 1 },
        },
        'shelter',
      ],
      [
        'imminent without impact',
        { kind: 'imminent', onset: hoursFromNow(1), extent: 'x', shelter: 's' },
        'impact',
      ],
      [
        'imminent without extent',
        {
          kind: 'imminent',
          onset: hoursFromNow(1),
          impact: { people: 1, households: 1 },
          shelter: 's',
        },
        'extent',
      ],
      ['risk warning without areas', { areas: [] }, 'areas'],
      ['unknown level', { level: 'purple' }, 'level'],
      ['unknown kind', { kind: 'rumour' }, 'kind'],
      [
        'expires before effective',
        { effective: hoursFromNow(5), expires: hoursFromNow(1) },
        'expires',
      ],
      ['not an ISO time', { effective: 'tomorrow' }, 'effective'],
      ['unknown area code', { areas: ['513221009009'] }, 'areas'],
      ['unknown hazard point', { hazardPoints: ['HP-404'] }, 'hazardPoints'],
      ['no headline', { headline: '' }, 'headline'],
      ['unknown field', { colour: 'red' }, 'colour'],
    ];
    it.each(cases)('%s', async (_name, patch, field) => {
      const before = await count();
      const res = await t.http().post('/v1/warnings').set(duty()).send(riskWarning(patch));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect(await count()).toBe(before);
    });

    it('refuses an area outside the officer jurisdiction with 403', async () => {
      const res = await t
        .http()
        .post('/v1/warnings')
        .set(duty())
        .send(riskWarning({ areas: ['510100'] }));
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('OUTSIDE_JURISDICTION');
    });
  });

  it('Idempotency-Key: the same request answers the same and sends nothing twice; another body is a 409', async () => {
    const before = await count();
    const body = riskWarning({ headline: 'idempotent' });
    const first = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .set('Idempotency-Key', 'k-1')
      .send(body);
    const again = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .set('Idempotency-Key', 'k-1')
      .send(body);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await count()).toBe(before + 1);
    const other = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .set('Idempotency-Key', 'k-1')
      .send({ ...body, headline: 'other' });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(await count()).toBe(before + 1);
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [first.body.id]))[0]
          .fanout_done_at,
      'fan-out',
    );
    const deliveries = await t.db.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE warning_id = $1`,
      [first.body.id],
    );
    expect(deliveries[0].n).toBe(2);
  });

  it('an update reaches new people with the alert, keeps the others on the update, and releases people no longer concerned', async () => {
    const issued = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(riskWarning({ headline: 'to update' }));
    const id = issued.body.id as string;
    const state = async (ext: string) =>
      (
        await t.db.query(
          `SELECT d.state, d.msg_type AS "msgType", d.version FROM deliveries d JOIN people p ON p.id = d.person_id WHERE d.warning_id = $1 AND p.external_id = $2`,
          [id, ext],
        )
      )[0];
    await waitUntil(
      async () => (await state(PEOPLE.gridLeader.ext))?.state === 'confirmed',
      'grid leader reached and confirmed',
    );

    const res = await t
      .http()
      .post(`/v1/warnings/${id}/updates`)
      .set(duty())
      .send({
        ...riskWarning({
          level: 'red',
          areas: ['513221001'],
          audience: ['village_responsible', 'township_responsible'],
        }),
        kind: undefined,
      });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id, version: 2, msgType: 'update' });
    expect(res.body.nationalId).not.toBe(issued.body.nationalId);

    await waitUntil(
      async () => (await state(PEOPLE.townshipChief.ext))?.msgType === 'alert',
      'new person gets the alert',
    );
    expect(await state(PEOPLE.villageChief.ext)).toMatchObject({ msgType: 'update', version: 2 });
    await waitUntil(
      async () => (await state(PEOPLE.gridLeader.ext))?.msgType === 'cancel',
      'dropped person released',
    );
    // The move is in the audit log, once, naming the version that dropped them.
    const droppedEvents = await t.db.query(
      `SELECT e.data FROM audit_events e JOIN deliveries d ON d.id::text = e.subject_id JOIN people p ON p.id = d.person_id
        WHERE e.action = 'delivery.dropped' AND e.warning_id = $1 AND p.external_id = $2`,
      [id, PEOPLE.gridLeader.ext],
    );
    expect(droppedEvents).toHaveLength(1);
    expect(droppedEvents[0].data).toMatchObject({ version: 2, reached: true });
    const release = await waitUntil(async () => {
      const rows = await t.db.query(
        `SELECT a.status FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
          WHERE a.warning_id = $1 AND p.external_id = $2 AND a.msg_type = 'cancel' AND a.status IN ('sent', 'delivered')`,
        [id, PEOPLE.gridLeader.ext],
      );
      return rows[0];
    }, 'release message sent');
    expect(release).toBeTruthy();
    // The grid leader's village is still under the (now red) warning: only the audience changed.
    // Their release says they are no longer addressed, never that the warning was lifted.
    const releaseSms = t
      .sandbox!.carrier.events({ type: 'sms.created', to: PEOPLE.gridLeader.mobile })
      .map((e) => String((e.data as { body: string }).body))
      .filter((b) => b.includes('通知对象'));
    expect(releaseSms).toHaveLength(1);
    expect(releaseSms[0]).toContain('橙色');
    expect(releaseSms[0]).not.toMatch(/解除|已结束/);

    const cap = await t.http().get(`/v1/warnings/${id}/cap`).set(duty());
    expect(cap.text).toContain('<msgType>Update</msgType>');
    expect(cap.text).toContain(`<references>`);
  });

  // Grid codes (a village's 12 digits and the grid's number) are areas too. A person dropped by an
  // update only because the audience changed, but still inside a grid or village of the new
  // version, is told they are no longer addressed, never that their area left the warning.
  const GRID = '513221001001001';
  const GRID_2 = '513221001001002';
  const VILLAGE = '513221001001';
  const inGrid = [PEOPLE.gridLeader, PEOPLE.resident, PEOPLE.deadMobile];
  it.each([
    {
      direction: 'a grid updated to its village',
      from: { areas: [GRID], audience: ['grid_leader', 'resident'] },
      to: { areas: [VILLAGE], audience: ['village_responsible', 'grid_leader'] },
      droppedInside: true,
    },
    {
      direction: 'a village updated to one of its grids',
      from: { areas: [VILLAGE], audience: ['village_responsible', 'grid_leader', 'resident'] },
      to: { areas: [GRID], audience: ['grid_leader'] },
      droppedInside: true,
    },
    {
      direction: 'a grid updated to another grid of its village',
      from: { areas: [GRID], audience: ['grid_leader', 'resident'] },
      to: { areas: [GRID_2], audience: ['grid_leader', 'resident'] },
      droppedInside: false,
    },
  ])(
    'releases after $direction tell nobody inside the new area that their area was dropped',
    async ({ from, to, droppedInside }) => {
      const issued = await t
        .http()
        .post('/v1/warnings')
        .set(duty())
        .send(riskWarning({ headline: 'grid release', ...from }));
      expect(issued.status).toBe(201);
      const id = issued.body.id as string;
      const people = async () =>
        (await t.db.query(
          `SELECT p.external_id AS ext, d.state, d.msg_type AS "msgType", d.first_attempt_at IS NOT NULL AS reached
             FROM deliveries d JOIN people p ON p.id = d.person_id WHERE d.warning_id = $1`,
          [id],
        )) as { ext: string; state: string; msgType: string; reached: boolean }[];
      const first = await waitUntil(async () => {
        const rows = await people();
        return rows.length && rows.every((r) => r.state === 'confirmed') ? rows : undefined;
      }, 'everyone of version 1 confirmed');

      const res = await t
        .http()
        .post(`/v1/warnings/${id}/updates`)
        .set(duty())
        .send({ ...riskWarning({ headline: 'grid release', ...to }), kind: undefined });
      expect(res.status).toBe(201);

      // Who the update drops, and whether each is still inside an area of the new version: a
      // person of grid 1 is inside both the grid and its village; the village chief (no grid)
      // only inside the village.
      const targetedAfter = (ext: string) => {
        const inside =
          to.areas.includes(VILLAGE) ||
          (to.areas.includes(GRID) && inGrid.some((p) => p.ext === ext));
        const role =
          ext === PEOPLE.villageChief.ext
            ? 'village_responsible'
            : ext === PEOPLE.gridLeader.ext
              ? 'grid_leader'
              : 'resident';
        return { inside, targeted: inside && to.audience.includes(role) };
      };
      const dropped = first.filter((r) => !targetedAfter(r.ext).targeted).map((r) => r.ext);
      expect(dropped.length).toBeGreaterThan(0);
      expect(dropped.some((ext) => targetedAfter(ext).inside)).toBe(droppedInside);

      const releases = await waitUntil(async () => {
        const rows = (await t.db.query(
          `SELECT p.external_id AS ext, a.provider_id AS "providerId"
             FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
            WHERE a.warning_id = $1 AND a.msg_type = 'cancel' AND a.channel = 'sms' AND a.status IN ('sent', 'delivered')`,
          [id],
        )) as { ext: string; providerId: string }[];
        return rows.length >= dropped.length ? rows : undefined;
      }, 'a release SMS to each dropped person');
      expect(releases.map((r) => r.ext).sort()).toEqual([...dropped].sort());
      expect(
        (await people())
          .filter((r) => r.msgType === 'cancel')
          .map((r) => r.ext)
          .sort(),
      ).toEqual([...dropped].sort());

      for (const { ext, providerId } of releases) {
        const bodies = t
          .sandbox!.carrier.events({ type: 'sms.created' })
          .filter((e) => e.ref === providerId)
          .map((e) => String((e.data as { body: string }).body));
        expect(bodies).toHaveLength(1);
        const [body] = bodies;
        expect(body).not.toMatch(/解除|已结束/);
        if (targetedAfter(ext).inside) {
          // Still inside the new area: only the audience changed.
          expect({ ext, body }).toEqual({ ext, body: expect.stringContaining('通知对象') });
          expect(body).not.toContain('您所在的');
        } else {
          // Their own area left the warning: named.
          expect({ ext, body }).toEqual({
            ext,
            // The grid when the earlier version named it, else the village.
            body: expect.stringContaining(
              `您所在的${from.areas.includes(GRID) ? '渔子溪村第1网格' : '渔子溪村'}已不在`,
            ),
          });
        }
      }
    },
  );

  it('cancel (解除) stops pending sends, tells everyone already reached, and refuses later updates', async () => {
    const issued = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(riskWarning({ headline: 'to cancel' }));
    const id = issued.body.id as string;
    await waitUntil(
      async () =>
        (
          await t.db.query(
            `SELECT count(*)::int AS n FROM deliveries WHERE warning_id = $1 AND first_attempt_at IS NOT NULL`,
            [id],
          )
        )[0].n === 2,
      'both reached',
    );
    const res = await t
      .http()
      .post(`/v1/warnings/${id}/cancel`)
      .set(duty())
      .send({ reason: '降雨减弱，风险解除' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ msgType: 'cancel', state: 'cancelled', version: 2 });
    await waitUntil(
      async () =>
        (
          await t.db.query(
            `SELECT count(*)::int AS n FROM contact_attempts WHERE warning_id = $1 AND msg_type = 'cancel' AND status IN ('sent', 'delivered')`,
            [id],
          )
        )[0].n === 2,
      'release sent to both',
    );
    const queued = await t.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts WHERE warning_id = $1 AND status = 'queued'`,
      [id],
    );
    expect(queued[0].n).toBe(0);
    const again = await t
      .http()
      .post(`/v1/warnings/${id}/updates`)
      .set(duty())
      .send({ ...riskWarning(), kind: undefined });
    expect(again.status).toBe(409);
    const cap = await t.http().get(`/v1/warnings/${id}/cap`).set(duty());
    expect(cap.text).toContain('<msgType>Cancel</msgType>');
  });

  it('a cancel stops everything still queued and records how much in the audit log', async () => {
    const queues = SEND_QUEUES.map(
      (name) => t.app.get(getQueueToken(name), { strict: false }) as Queue,
    );
    for (const q of queues) await q.pause(); // nothing goes out: every first contact stays queued
    try {
      const issued = await t
        .http()
        .post('/v1/warnings')
        .set(duty())
        .send(riskWarning({ headline: 'cancelled before sending' }));
      const id = issued.body.id as string;
      const queued = await waitUntil(async () => {
        const [w] = await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]);
        if (!w?.fanout_done_at) return undefined;
        const [a] = await t.db.query(
          `SELECT count(*)::int AS n FROM contact_attempts WHERE warning_id = $1 AND status = 'queued'`,
          [id],
        );
        const [g] = await t.db.query(
          `SELECT count(*)::int AS n FROM group_sends WHERE warning_id = $1 AND status = 'queued'`,
          [id],
        );
        return { attempts: a.n as number, groups: g.n as number };
      }, 'fan-out done');
      expect(queued.attempts).toBeGreaterThan(0);
      const res = await t
        .http()
        .post(`/v1/warnings/${id}/cancel`)
        .set(duty())
        .send({ reason: '误发' });
      expect(res.status).toBe(200);
      const [event] = await t.db.query(
        `SELECT data FROM audit_events WHERE action = 'warning.cancelled' AND subject_id = $1`,
        [id],
      );
      expect(event.data).toMatchObject({
        version: 2,
        withReason: true,
        attemptsCancelled: queued.attempts,
        groupSendsCancelled: queued.groups,
      });
    } finally {
      for (const q of queues) await q.resume();
    }
  });

  it('expiry ends the warning at `expires`: nothing queued goes out afterwards', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(
        riskWarning({
          headline: 'short-lived',
          expires: new Date(Date.now() + 3000).toISOString(),
        }),
      );
    expect(res.status).toBe(201);
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT state FROM warnings WHERE id = $1`, [res.body.id]))[0].state ===
        'expired',
      'warning expired',
    );
    const queued = await t.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts WHERE warning_id = $1 AND status = 'queued'`,
      [res.body.id],
    );
    expect(queued[0].n).toBe(0);
    const update = await t
      .http()
      .post(`/v1/warnings/${res.body.id}/updates`)
      .set(duty())
      .send({ ...riskWarning(), kind: undefined });
    expect(update.status).toBe(409);
  });

  it('exports CAP 1.2 that validates against the OASIS schema', async () => {
    const issued = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(riskWarning({ headline: 'cap export' }));
    const res = await t
      .http()
      .get(`/v1/warnings/${issued.body.id}/cap`)
      .set({ Authorization: `Bearer ${t.tokens.auditor}` });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/xml');
    const result = await validateXML({
      xml: [{ fileName: 'a.xml', contents: res.text }],
      schema: [{ fileName: 'cap.xsd', contents: XSD }],
    });
    expect(result.errors).toEqual([]);
    expect(res.text).toContain(`<identifier>${issued.body.nationalId}</identifier>`);
    expect(res.text).toContain('<severity>Severe</severity>');
    expect(res.text).toContain('513221001001');
  });

  it('imports CAP Alert, Update and Cancel as a meteorological bureau feed sends them', async () => {
    // Export a warning, then feed it back as if it came from the bureau with new identifiers.
    const issued = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(riskWarning({ headline: 'feed source' }));
    const xml = (await t.http().get(`/v1/warnings/${issued.body.id}/cap`).set(duty())).text;
    const alertId = '513221001000' + '00_20260701200000_1';
    const alertXml = xml
      .replace(/<identifier>[^<]+<\/identifier>/, `<identifier>${alertId}</identifier>`)
      .replace('feed source', '气象局推送预警')
      .replace(/<sender>[^<]+<\/sender>/, '<sender>qxj.513221.example.cn</sender>');
    const imported = await t
      .http()
      .post('/v1/warnings/cap')
      .set(duty())
      .set('Content-Type', 'application/xml')
      .send(alertXml);
    expect(imported.status).toBe(201);
    expect(imported.body).toMatchObject({ nationalId: alertId, version: 1, msgType: 'alert' });
    const feedSender = 'qxj.513221.example.cn';

    const updateId = '513221001000' + '00_20260701210000_1';
    const updateXml = alertXml
      .replace(`<identifier>${alertId}</identifier>`, `<identifier>${updateId}</identifier>`)
      .replace('<msgType>Alert</msgType>', `<msgType>Update</msgType>`)
      .replace(
        '<scope>',
        `<references>qxj.513221.example.cn,${alertId},2026-07-01T20:00:00+08:00</references><scope>`,
      )
      .replace(/<sent>[^<]+<\/sent>/, '<sent>2026-07-01T21:00:00+08:00</sent>');
    const updated = await t
      .http()
      .post('/v1/warnings/cap')
      .set(duty())
      .set('Content-Type', 'application/xml')
      .send(updateXml);
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      id: imported.body.id,
      version: 2,
      msgType: 'update',
      nationalId: updateId,
    });

    // Exported again, the imported update keeps the feed's identity, and its references name
    // the original issuer of the alert.
    const reexported = (await t.http().get(`/v1/warnings/${imported.body.id}/cap`).set(duty()))
      .text;
    expect(reexported).toContain(`<identifier>${updateId}</identifier>`);
    expect(reexported).toContain(`<sender>${feedSender}</sender>`);
    expect(reexported).toContain(`${feedSender},${alertId},`);

    const cancelId = '513221001000' + '00_20260701220000_1';
    const cancelXml = updateXml
      .replace(/<description>[^<]*<\/description>/, '<description>降雨过程已结束</description>')
      .replace(`<identifier>${updateId}</identifier>`, `<identifier>${cancelId}</identifier>`)
      .replace('<msgType>Update</msgType>', '<msgType>Cancel</msgType>')
      .replace(
        /<references>[^<]+<\/references>/,
        `<references>qxj.513221.example.cn,${updateId},2026-07-01T21:00:00+08:00</references>`,
      )
      .replace(/<sent>[^<]+<\/sent>/, '<sent>2026-07-01T22:00:00+08:00</sent>');
    const cancelled = await t
      .http()
      .post('/v1/warnings/cap')
      .set(duty())
      .set('Content-Type', 'application/xml')
      .send(cancelXml);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: imported.body.id,
      msgType: 'cancel',
      state: 'cancelled',
    });
    // The cancel carries its own reason, never the alert's texts.
    const [cancelContent] = await t.db.query(
      `SELECT content->>'description' AS description, content->>'instruction' AS instruction
         FROM warning_versions WHERE national_id = $1`,
      [cancelId],
    );
    expect(cancelContent).toEqual({ description: '降雨过程已结束', instruction: '' });

    const bad = await t
      .http()
      .post('/v1/warnings/cap')
      .set(duty())
      .set('Content-Type', 'application/xml')
      .send('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><sender>x</sender></alert>');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { field: string }) => f.field)).toContain(
      'alert/identifier',
    );
  });

  it('gives imminent warnings a higher queue priority than routine ones, red before yellow', async () => {
    const { jobPriority } = await import('../../src/common/queue/queue-names');
    expect(jobPriority('imminent', 'yellow')).toBeLessThan(
      jobPriority('meteorological_risk', 'red'),
    );
    expect(jobPriority('meteorological_risk', 'red')).toBeLessThan(
      jobPriority('meteorological_risk', 'yellow'),
    );
    const [attempt] = await t.db.query(
      `SELECT a.id, a.priority FROM contact_attempts a JOIN warnings w ON w.id = a.warning_id WHERE w.kind = 'meteorological_risk' LIMIT 1`,
    );
    expect(attempt.priority).toBe(jobPriority('meteorological_risk', 'orange'));
  });
});
