import { TokensService } from '../../src/modules/auth/tokens.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { redCapAlert } from '../helpers/cap-alerts';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'approval-e2e-secret'.padEnd(40, 'a');
/** The provincial observatory's CAP sender: its alerts were released by it. */
const TRUSTED = 'scqx.sc.cma.gov.cn';

describe('two-person release of public red warnings (TWO_PERSON_RELEASE=red_public)', () => {
  let t: TestApp;
  let second: string;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: { TWO_PERSON_RELEASE: 'red_public', CAP_TRUSTED_SENDERS: TRUSTED },
    });
    const tokens = t.app.get(TokensService);
    second = (
      await tokens.create({
        name: '县值班室（复核）',
        role: 'duty_officer',
        jurisdiction: '513221',
      })
    ).token;
  });
  afterAll(() => t.close());

  const first = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const other = () => ({ Authorization: `Bearer ${second}` });
  const count = async (sql: string, params: unknown[] = []) =>
    (await t.db.query(sql, params))[0].n as number;

  let draftId: string;
  let previewHash: string;

  it('drafts a public red warning: 202 with the preview, nothing created or sent', async () => {
    const res = await t.http().post('/v1/warnings').set(first()).send(imminentWarning());
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ state: 'draft', warningId: null });
    expect(res.body.preview.recipients).toMatchObject({ total: 4 });
    expect(res.body.preview.recipients.byRole).toMatchObject({ resident: 2 });
    expect(res.body.preview.channels.sms.short).toContain('渔子溪');
    expect(res.body.preview.channels.voice.script).toBeTruthy();
    expect(res.body.preview.previewHash).toMatch(/^[0-9a-f]{64}$/);
    // Recipients per channel of the first step: people on SMS, calls (not the resident outside
    // the hazard point's danger zone: their policy sends an SMS only) and e-mail (the village
    // chief alone has an address), the grid's robot chat and the village's loudspeaker.
    expect(res.body.preview.recipients.byChannel).toEqual({
      sms: 4,
      voice: 3,
      email: 1,
      robot: 1,
      broadcast: 1,
    });
    expect(res.body.preview.recipients.unreachable).toBe(0);
    // Each channel's text, with its count.
    expect(res.body.preview.channels.email.subject).toContain('渔子溪');
    expect(res.body.preview.channels.broadcast.text).toContain('渔子溪');
    const perChannel = res.body.preview.perChannel as {
      channel: string;
      recipients: number;
      unit: string;
      text: string;
    }[];
    expect(perChannel.map((c) => [c.channel, c.recipients, c.unit])).toEqual([
      ['sms', 4, 'people'],
      ['voice', 3, 'people'],
      ['email', 1, 'people'],
      ['robot', 1, 'groups'],
      ['broadcast', 1, 'terminals'],
    ]);
    for (const c of perChannel) expect(c.text).toContain('渔子溪');
    draftId = res.body.id;
    previewHash = res.body.preview.previewHash;
    expect(await count(`SELECT count(*)::int AS n FROM warnings`)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM contact_attempts`)).toBe(0);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM audit_events WHERE action = 'warning.drafted' AND subject_id = $1`,
        [draftId],
      ),
    ).toBe(1);
  });

  it('does not draft what the policy leaves alone (an orange warning goes at once)', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(first())
      .send(imminentWarning({ level: 'orange', headline: '渔子溪村滑坡临灾预警（橙色）' }));
    expect(res.status).toBe(201);
    expect(res.body.state).toBe('active');
  });

  it('shows the draft to the approver with the same preview hash', async () => {
    const res = await t.http().get(`/v1/warnings/drafts/${draftId}`).set(other());
    expect(res.status).toBe(200);
    expect(res.body.preview.previewHash).toBe(previewHash);
  });

  it('refuses approval by the officer who drafted it (403 naming the approver)', async () => {
    const res = await t
      .http()
      .post(`/v1/warnings/${draftId}/approve`)
      .set(first())
      .send({ previewHash });
    expect(res.status).toBe(403);
    expect(res.body.error.fields).toEqual([expect.objectContaining({ field: 'approver' })]);
  });

  it('refuses an approval without a preview hash (400) and a stale one when the recipients changed (409)', async () => {
    const none = await t.http().post(`/v1/warnings/${draftId}/approve`).set(other()).send({});
    expect(none.status).toBe(400);
    expect(none.body.error.fields).toContainEqual(
      expect.objectContaining({ field: 'previewHash' }),
    );

    // A new resident in the village changes who the draft reaches.
    await t.db.query(
      `INSERT INTO people (external_id, name, role, division_code, grid_code)
       VALUES ('P-R9', '新居民', 'resident', '513221001001', '513221001001001')`,
    );
    const stale = await t
      .http()
      .post(`/v1/warnings/${draftId}/approve`)
      .set(other())
      .send({ previewHash });
    expect(stale.status).toBe(409);
    expect(stale.body.error.fields).toEqual([expect.objectContaining({ field: 'previewHash' })]);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM warnings WHERE status = 'actual' AND recipients = 5`,
      ),
    ).toBe(0);
    await t.db.query(`DELETE FROM people WHERE external_id = 'P-R9'`);

    // Same people, but one more reached by e-mail: the per-channel counts changed, so did the
    // preview the approver approves.
    await t.db.query(
      `INSERT INTO contact_points (person_id, kind, value, priority)
       SELECT id, 'email', 'gl1@example.cn', 2 FROM people WHERE external_id = $1`,
      [PEOPLE.gridLeader.ext],
    );
    try {
      const shown = await t.http().get(`/v1/warnings/drafts/${draftId}`).set(other());
      expect(shown.body.preview.recipients).toMatchObject({ total: 4 });
      expect(shown.body.preview.recipients.byChannel.email).toBe(2);
      const changed = await t
        .http()
        .post(`/v1/warnings/${draftId}/approve`)
        .set(other())
        .send({ previewHash });
      expect(changed.status).toBe(409);
    } finally {
      await t.db.query(`DELETE FROM contact_points WHERE value = 'gl1@example.cn'`);
    }
  });

  it('issues the draft when another duty officer approves the preview they saw, recording both', async () => {
    const res = await t
      .http()
      .post(`/v1/warnings/${draftId}/approve`)
      .set(other())
      .send({ previewHash });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ draftId, state: 'active', recipients: 4, version: 1 });
    expect(res.body.nationalId).toHaveLength(31);
    const events = await t.db.query(
      `SELECT action, actor, data FROM audit_events
        WHERE action IN ('warning.drafted', 'warning.approved', 'warning.issued')
          AND (subject_id = $1 OR warning_id = $2) ORDER BY id`,
      [draftId, res.body.id],
    );
    const tokenIds = await t.db.query(
      `SELECT id, name FROM api_tokens WHERE role = 'duty_officer' ORDER BY created_at`,
    );
    const drafter = tokenIds[0].id;
    const approver = tokenIds[1].id;
    expect(events.map((e: { action: string }) => e.action)).toEqual([
      'warning.drafted',
      'warning.issued',
      'warning.approved',
    ]);
    expect(events[0].actor).toBe(drafter);
    expect(events[2]).toMatchObject({
      actor: approver,
      data: expect.objectContaining({ draftedBy: drafter, approvedBy: approver, previewHash }),
    });
    // Issued as the drafter's warning, and it reaches the residents.
    await waitUntil(async () => {
      const [row] = await t.db.query(
        `SELECT count(*)::int AS n FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 AND p.external_id = $2`,
        [res.body.id, PEOPLE.resident.ext],
      );
      return row.n === 1;
    }, 'the approved warning reaches the resident');
    // What the approver saw per channel is what the fan-out sent first.
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [res.body.id]))[0]
          .fanout_done_at,
      'the fan-out of the approved warning',
    );
    const firstSends = await t.db.query(
      `SELECT a.channel, count(DISTINCT a.delivery_id)::int AS n
         FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
         JOIN warnings w ON w.id = a.warning_id
        WHERE a.warning_id = $1 AND a.purpose = 'warning' AND d.escalated_from IS NULL
          AND a.queued_at <= w.fanout_done_at
        GROUP BY a.channel ORDER BY a.channel`,
      [res.body.id],
    );
    const groupSends = await t.db.query(
      `SELECT channel, count(*)::int AS n FROM group_sends WHERE warning_id = $1 GROUP BY channel`,
      [res.body.id],
    );
    expect(firstSends).toEqual([
      { channel: 'email', n: 1 },
      { channel: 'sms', n: 4 },
      { channel: 'voice', n: 3 },
    ]);
    expect(groupSends).toEqual(
      expect.arrayContaining([
        { channel: 'wecom', n: 1 },
        { channel: 'broadcast', n: 1 },
      ]),
    );
    const [issued] = await t.db.query(`SELECT issuer_token_id FROM warnings WHERE id = $1`, [
      res.body.id,
    ]);
    expect(issued.issuer_token_id).toBe(drafter);

    const again = await t
      .http()
      .post(`/v1/warnings/${draftId}/approve`)
      .set(other())
      .send({ previewHash });
    expect(again.status).toBe(409);
  });

  const postCap = (xml: string, who = first()) =>
    t.http().post('/v1/warnings/cap').set(who).set('Content-Type', 'application/xml').send(xml);

  it('drafts a public red CAP alert from a sender that is not trusted, and issues it with its identity once approved', async () => {
    const identifier = '51322100100000_20261206150000_1';
    const warningsBefore = await count(`SELECT count(*)::int AS n FROM warnings`);
    const res = await postCap(
      redCapAlert('xz.example.cn', identifier, '县外转发：渔子溪村滑坡红色预警'),
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      state: 'draft',
      warningId: null,
      cap: { identifier, sender: 'xz.example.cn' },
    });
    expect(res.body.preview.recipients.byRole).toMatchObject({ resident: 2 });
    expect(res.body.preview.channels.sms.short).toContain('渔子溪');
    expect(await count(`SELECT count(*)::int AS n FROM warnings`)).toBe(warningsBefore);
    // The same alert again: already imported.
    const again = await postCap(
      redCapAlert('xz.example.cn', identifier, '县外转发：渔子溪村滑坡红色预警'),
    );
    expect(again.status).toBe(409);

    const approved = await t
      .http()
      .post(`/v1/warnings/${res.body.id}/approve`)
      .set(other())
      .send({ previewHash: res.body.preview.previewHash });
    expect(approved.status).toBe(201);
    expect(approved.body).toMatchObject({ nationalId: identifier, state: 'active' });
    const [w] = await t.db.query(
      `SELECT w.source, v.content->>'capSender' AS sender FROM warnings w
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = 1 WHERE w.id = $1`,
      [approved.body.id],
    );
    expect(w).toEqual({ source: 'cap', sender: 'xz.example.cn' });
    const [drafted] = await t.db.query(
      `SELECT data FROM audit_events WHERE action = 'warning.drafted' AND subject_id = $1`,
      [res.body.id],
    );
    expect(drafted.data).toMatchObject({ source: 'cap', capSender: 'xz.example.cn' });
  });

  it('relays at once a public red CAP alert from a trusted upstream sender, recorded as released by it', async () => {
    const identifier = '51322100100000_20261206160000_1';
    const res = await postCap(redCapAlert(TRUSTED, identifier, '省台发布：渔子溪村滑坡红色预警'));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ nationalId: identifier, state: 'active', recipients: 4 });
    expect(
      await count(`SELECT count(*)::int AS n FROM warning_drafts WHERE cap->>'identifier' = $1`, [
        identifier,
      ]),
    ).toBe(0);
    const [issued] = await t.db.query(
      `SELECT data FROM audit_events WHERE action = 'warning.issued' AND warning_id = $1`,
      [res.body.id],
    );
    expect(issued.data).toMatchObject({
      source: 'cap',
      release: 'trusted_import',
      capSender: TRUSTED,
    });
    await waitUntil(async () => {
      const [row] = await t.db.query(
        `SELECT count(*)::int AS n FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 AND p.external_id = $2`,
        [res.body.id, PEOPLE.resident.ext],
      );
      return row.n === 1;
    }, 'the relayed warning reaches the resident');
  });
});
