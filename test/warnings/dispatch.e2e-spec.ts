import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, ROBOT_KEY, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'dispatch-e2e-secret'.padEnd(40, 'z');

describe('issuing a warning dispatches it on every channel through the providers', () => {
  let t: TestApp;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: { TWILIO_CALLS_PER_SECOND: '5', TWILIO_SMS_PER_SECOND: '20' },
    });
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.villageChief.mobile, 'confirms');
    s.setProfile(PEOPLE.gridLeader.mobile, 'needs-help');
    s.setProfile(PEOPLE.resident.mobile, 'confirms');
    s.setProfile(PEOPLE.deadMobile.mobile, 'dead');
    s.setProfile(PEOPLE.deadMobile.landline, 'confirms');
    s.setProfile(PEOPLE.townshipChief.mobile, 'confirms');
  });
  afterAll(() => t.close());

  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const deliveryOf = async (warningId: string, ext: string) => {
    const [row] = await t.db.query(
      `SELECT d.state FROM deliveries d JOIN people p ON p.id = d.person_id WHERE d.warning_id = $1 AND p.external_id = $2`,
      [warningId, ext],
    );
    return row?.state as string | undefined;
  };

  let warningId: string;

  it('answers 201 with the id, the 31-character national identifier, the version and the recipients', async () => {
    const res = await t.http().post('/v1/warnings').set(duty()).send(imminentWarning());
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      version: 1,
      msgType: 'alert',
      state: 'active',
      recipients: 4,
    });
    expect(res.body.nationalId).toHaveLength(31);
    expect(res.body.nationalId).toMatch(/^513221001000\d{2}_\d{14}_\d$/);
    warningId = res.body.id;
  });

  it('reaches every person and records their answers: keypress confirm, help, failover from a dead number', async () => {
    await waitUntil(
      async () => (await deliveryOf(warningId, PEOPLE.villageChief.ext)) === 'confirmed',
      'village chief confirms by keypress',
    );
    await waitUntil(
      async () => (await deliveryOf(warningId, PEOPLE.gridLeader.ext)) === 'declined',
      'grid leader asks for help',
    );
    await waitUntil(
      async () => (await deliveryOf(warningId, PEOPLE.resident.ext)) === 'confirmed',
      'resident confirms',
    );
    // The dead mobile fails at the carrier; the person is then called on their landline and confirms.
    await waitUntil(
      async () => (await deliveryOf(warningId, PEOPLE.deadMobile.ext)) === 'confirmed',
      'failover to the landline',
    );
    const attempts = await t.db.query(
      `SELECT a.channel, a.address, a.status, a.outcome, a.error_code FROM contact_attempts a
         JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
        WHERE a.warning_id = $1 AND p.external_id = $2 ORDER BY a.seq`,
      [warningId, PEOPLE.deadMobile.ext],
    );
    expect(
      attempts.filter((a: { status: string }) => a.status === 'failed').length,
    ).toBeGreaterThanOrEqual(1);
    expect(attempts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channel: 'voice', address: PEOPLE.deadMobile.landline }),
      ]),
    );
    // The township chief is not in the targeted village and is not bothered.
    expect(await deliveryOf(warningId, PEOPLE.townshipChief.ext)).toBeUndefined();
  });

  it('calls the residents in the danger zone only; the others get the SMS', async () => {
    const chain = async (ext: string) =>
      t.db.query(
        `SELECT pol.name AS policy, a.channel, a.address FROM deliveries d
           JOIN people p ON p.id = d.person_id JOIN escalation_policies pol ON pol.id = d.policy_id
           LEFT JOIN contact_attempts a ON a.delivery_id = d.id AND a.purpose = 'warning'
          WHERE d.warning_id = $1 AND p.external_id = $2 ORDER BY a.seq`,
        [warningId, ext],
      );
    // 张居民 is threatened by HP-1, the warning's hazard point: SMS and a call.
    const inZone = await chain(PEOPLE.resident.ext);
    expect(inZone[0].policy).toBe('临灾预警-居民');
    expect(inZone).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channel: 'voice', address: PEOPLE.resident.mobile }),
      ]),
    );
    // 赵居民 lives in the village but not under the slope: the SMS (and the loudspeaker), no call
    // to the mobile; the landline call is the failover after the dead mobile.
    const outside = await chain(PEOPLE.deadMobile.ext);
    expect(outside[0].policy).toBe('居民');
    expect(outside).not.toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channel: 'voice', address: PEOPLE.deadMobile.mobile }),
      ]),
    );
  });

  it('sends SMS through Twilio with a status callback and records the segment count', async () => {
    // Whichever SMS went out (a person who answers by voice first has their queued SMS stopped).
    const sms = await waitUntil(async () => {
      const [row] = await t.db.query(
        `SELECT a.status, a.segments, a.provider_id, a.address FROM contact_attempts a
          WHERE a.warning_id = $1 AND a.channel = 'sms' AND a.status = 'delivered' LIMIT 1`,
        [warningId],
      );
      return row;
    }, 'SMS delivered receipt');
    expect(sms.provider_id).toMatch(/^SM/);
    expect(sms.segments).toBeGreaterThanOrEqual(1);
    const created = t.sandbox!.carrier.events({ type: 'sms.created', to: sms.address });
    expect(created.length).toBe(1);
    // Nothing still queued was sent to anyone who had already answered.
    const late = await t.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
        WHERE a.warning_id = $1 AND a.outcome = 'answered' AND a.provider_id IS NOT NULL`,
      [warningId],
    );
    expect(late[0].n).toBe(0);
  });

  it('e-mails the people who have an address, through a real SMTP server', async () => {
    const mail = await waitUntil(
      async () =>
        t
          .sandbox!.carrier.sentEmails()
          .find((m) => JSON.stringify(m).includes(PEOPLE.villageChief.email)),
      'e-mail received',
    );
    expect(JSON.stringify(mail)).toContain('渔子溪');
  });

  it('posts to the grid robot with an @mention and a signed confirmation link', async () => {
    const msg = await waitUntil(
      async () =>
        t.sandbox!.carrier.events({ type: 'robot.message' }).find((e) => e.to === ROBOT_KEY),
      'robot message',
    );
    const text = JSON.stringify(msg.data);
    expect(text).toContain(PEOPLE.gridLeader.name);
    expect(text).toMatch(/\/c\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);
  });

  it('sends the warning to the village loudspeakers and records their playback receipts', async () => {
    const receipt = await waitUntil(async () => {
      const [row] = await t.db.query(
        `SELECT r.terminal_code, r.status FROM broadcast_receipts r JOIN group_sends g ON g.id = r.group_send_id WHERE g.warning_id = $1`,
        [warningId],
      );
      return row;
    }, 'broadcast receipt');
    expect(receipt.terminal_code).toBe('T-001');
  });

  it('shows counts by state and the ETA of the last first contact', async () => {
    const res = await t.http().get(`/v1/warnings/${warningId}`).set(duty());
    expect(res.status).toBe(200);
    expect(res.body.dispatch.fanoutDone).toBe(true);
    expect(res.body.dispatch.firstContactEta).toBeTruthy();
    expect(res.body.dispatch.deliveries.confirmed).toBeGreaterThanOrEqual(3);
    expect(res.body.content.headline).toBe('渔子溪村滑坡临灾预警');
  });

  it('assigns a door-to-door task by SMS (to the next level up: the grid leader asked for help), completed on site', async () => {
    const [subject] = await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [
      PEOPLE.deadMobile.ext,
    ]);
    const created = await t.http().post(`/v1/warnings/${warningId}/tasks`).set(duty()).send({
      type: 'door_to_door',
      grid: '513221001001001',
      personId: subject.id,
      reason: '手机号无法接通',
    });
    expect(created.status).toBe(201);
    // Not to the grid leader, who asked for help: to the village's responsible person.
    const [chief] = await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [
      PEOPLE.villageChief.ext,
    ]);
    expect(created.body.assigneeId).toBe(chief.id);
    const sms = await waitUntil(
      async () =>
        t
          .sandbox!.carrier.events({ type: 'sms.created', to: PEOPLE.villageChief.mobile })
          .find((e) => JSON.stringify(e.data).includes('敲门入户')),
      'task SMS to the village chief',
    );
    expect(
      t
        .sandbox!.carrier.events({ type: 'sms.created', to: PEOPLE.gridLeader.mobile })
        .some((e) => JSON.stringify(e.data).includes('敲门入户')),
    ).toBe(false);
    expect(JSON.stringify(sms.data)).toContain(PEOPLE.deadMobile.name);

    const gridToken = t.tokens.grid_member;
    const list = await t
      .http()
      .get('/v1/tasks')
      .set({ Authorization: `Bearer ${gridToken}` });
    expect(list.body.map((x: { id: string }) => x.id)).toContain(created.body.id);

    const { TokensService } = await import('../../src/modules/auth/tokens.service');
    const other = await t.app
      .get(TokensService)
      .create({ name: 'grid 2', role: 'grid_member', gridCode: '513221001001002' });
    const refused = await t
      .http()
      .post(`/v1/tasks/${created.body.id}/complete`)
      .set({ Authorization: `Bearer ${other.token}` })
      .send({ outcome: 'confirmed_on_site' });
    expect(refused.status).toBe(403);
    expect(
      (
        await t
          .http()
          .get('/v1/tasks')
          .set({ Authorization: `Bearer ${other.token}` })
      ).body,
    ).toEqual([]);

    const done = await t
      .http()
      .post(`/v1/tasks/${created.body.id}/complete`)
      .set({ Authorization: `Bearer ${gridToken}` })
      .send({ outcome: 'confirmed_on_site', note: '已当面告知' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'done', outcome: 'confirmed_on_site' });
    const [attempt] = await t.db.query(
      `SELECT status, channel FROM contact_attempts WHERE task_id = $1`,
      [created.body.id],
    );
    expect(attempt).toEqual({ status: 'completed', channel: 'manual' });
    expect(await deliveryOf(warningId, PEOPLE.deadMobile.ext)).toBe('confirmed');
    const twice = await t
      .http()
      .post(`/v1/tasks/${created.body.id}/complete`)
      .set({ Authorization: `Bearer ${gridToken}` })
      .send({ outcome: 'evacuated' });
    expect(twice.status).toBe(409);
  });

  it("numbers a task's attempt after another task SMS of the assignee took the same number first (no 500)", async () => {
    const [chief] = await t.db.query(
      `SELECT d.id FROM deliveries d JOIN people p ON p.id = d.person_id
        WHERE d.warning_id = $1 AND p.external_id = $2`,
      [warningId, PEOPLE.villageChief.ext],
    );
    // Another task SMS of the village chief (a task assigned to them at the same moment) takes
    // the next number and is not committed yet when the task is assigned. (Their alert's steps
    // and notices are numbered apart, per purpose: they never take a task's number.)
    const other = t.db.createQueryRunner();
    await other.connect();
    await other.startTransaction();
    let post: Promise<{ status: number; body: { id?: string } }> | undefined;
    try {
      const [held] = await other.query(
        `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, purpose, status)
         SELECT a.delivery_id, a.warning_id, w.current_version, 'alert',
                (SELECT coalesce(max(seq), -1) + 1 FROM contact_attempts WHERE delivery_id = $1),
                'manual', a.contact_kind, a.address, a.priority, 'task', 'cancelled'
           FROM contact_attempts a JOIN warnings w ON w.id = a.warning_id
          WHERE a.delivery_id = $1 LIMIT 1
         RETURNING seq`,
        [chief.id],
      );
      post = Promise.resolve(
        t.http().post(`/v1/warnings/${warningId}/tasks`).set(duty()).send({
          type: 'door_to_door',
          grid: '513221001001001',
          reason: '网格内逐户告知',
        }),
      );
      await waitUntil(async () => {
        const [{ waiting }] = await t.db.query(
          `SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted`,
        );
        return waiting > 0;
      }, "the task's attempt waiting for the other insert");
      await other.commitTransaction();
      const created = await post;
      expect(created.status).toBe(201);
      const [task] = await t.db.query(`SELECT seq FROM contact_attempts WHERE task_id = $1`, [
        created.body.id,
      ]);
      expect(task.seq).toBe(held.seq + 1);
    } finally {
      if (other.isTransactionActive) await other.rollbackTransaction();
      await other.release();
      await post?.catch(() => undefined);
    }
  });

  it('a test warning reaches responsible persons only: no resident, no public loudspeaker', async () => {
    const refused = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(
        imminentWarning({ headline: '测试：渔子溪村', status: 'test', audience: ['resident'] }),
      );
    expect(refused.status).toBe(400);
    expect(refused.body.error.fields.map((f: { field: string }) => f.field)).toContain('audience');
    const none = await t.db.query(
      `SELECT count(*)::int AS n FROM warning_versions WHERE content->>'headline' = '测试：渔子溪村'`,
    );
    expect(none[0].n).toBe(0);

    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(imminentWarning({ headline: '测试：渔子溪村滑坡临灾预警', status: 'test' }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]))[0]
          .fanout_done_at,
      'fan-out done',
    );
    const roles = await t.db.query(
      `SELECT DISTINCT role FROM deliveries WHERE warning_id = $1 ORDER BY role`,
      [id],
    );
    expect(roles.map((r: { role: string }) => r.role)).not.toContain('resident');
    expect(roles.length).toBeGreaterThan(0);
    const loudspeakers = await t.db.query(
      `SELECT count(*)::int AS n FROM group_sends WHERE warning_id = $1 AND channel = 'broadcast'`,
      [id],
    );
    expect(loudspeakers[0].n).toBe(0);
    // Nor anyone sent door to door or to sound the gong: their SMS has residents evacuate.
    for (const type of ['door_to_door', 'gong_and_whistle']) {
      const task = await t
        .http()
        .post(`/v1/warnings/${id}/tasks`)
        .set(duty())
        .send({ type, grid: '513221001001001' });
      expect([type, task.status]).toEqual([type, 409]);
      expect(task.body.error.message).toContain('测试预警不派发');
    }
    const tasks = await t.db.query(
      `SELECT count(*)::int AS n FROM manual_tasks WHERE warning_id = $1`,
      [id],
    );
    expect(tasks[0].n).toBe(0);
    await t.http().post(`/v1/warnings/${id}/cancel`).set(duty()).send({ reason: '测试结束' });
  });
});
