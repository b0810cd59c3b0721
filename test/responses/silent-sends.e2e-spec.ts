import { startTestApp, type TestApp } from '../helpers/app';
import { villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';
import { SilentSendsService } from '../../src/modules/responses/silent-sends.service';
import { ChannelRegistry } from '../../src/channels/channel-registry';
import { DeliveryEventsService } from '../../src/modules/responses/delivery-events.service';

const APP_SECRET = 'silent-sends-e2e-secret'.padEnd(40, 's');

/** More residents than one round of the poll asks about (200): a county's lost callbacks. */
const COUNT = 260;
const residents = Array.from({ length: COUNT }, (_, i) => ({
  ext: `P-SIL${i}`,
  mobile: `+86139${String(i).padStart(8, '0')}`,
}));
const residentsSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ${residents.map((p) => `('${p.ext}', '居民${p.ext}', 'resident', '513221001001', '513221001001001')`).join(',\n')};
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ${residents.map((p) => `('${p.ext}', '${p.mobile}')`).join(', ')}) AS c(ext, mobile)
      ON c.ext = people.external_id;`;

describe('status callbacks lost for a whole county: the recovery sweep asks the provider about every silent send', () => {
  let t: TestApp;
  let warningId: string;
  let silent: string[];
  /** The people of `silent` whose receipt moves them (`sent` → delivered). */
  let silentPeople: string[];

  const silence = async () => {
    // As if every delivery receipt of the warning's SMS had been lost long ago (the gateway
    // overloaded or down when the provider called, and the provider gave up).
    const rows: { id: string }[] = await t.db
      .query(
        `UPDATE contact_attempts SET status = 'sent', delivered_at = NULL, status_asked_at = NULL,
              sent_at = now() - interval '5 minutes'
        WHERE warning_id = $1 AND channel = 'sms' AND status = 'delivered' RETURNING id`,
        [warningId],
      )
      .then(([r]: [{ id: string }[]]) => r);
    // Their people too, back to `sent` (the receipt is what moves them to delivered).
    const [people]: [{ id: string }[]] = await t.db.query(
      `UPDATE deliveries SET state = 'sent', delivered_at = NULL
        WHERE state = 'delivered' AND id IN (SELECT delivery_id FROM contact_attempts WHERE id = ANY($1))
        RETURNING id`,
      [rows.map((r) => r.id)],
    );
    silentPeople = people.map((p) => p.id);
    return rows.map((r) => r.id);
  };
  const stillSilent = async () =>
    (
      await t.db.query(
        `SELECT count(*)::int AS n FROM contact_attempts WHERE id = ANY($1) AND status = 'sent'`,
        [silent],
      )
    )[0].n as number;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + residentsSql,
      env: {
        // The sweep does not run by itself here: the test runs the poll.
        RECOVERY_INTERVAL_MS: '600000',
        RECEIPT_POLL_AFTER_SECONDS: '30',
        // A sweep's time for asking (the listing gets half of it).
        RECEIPT_POLL_BUDGET_MS: '8000',
        TWILIO_SMS_PER_SECOND: '400',
      },
    });
    for (const p of residents) t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '渔子溪村滑坡临灾预警（回执全部丢失）' }));
    expect(res.status).toBe(201);
    warningId = res.body.id;
    await waitUntil(
      async () => {
        const [{ open, delivered }] = await t.db.query(
          `SELECT count(*) FILTER (WHERE status IN ('queued', 'sending', 'sent'))::int AS open,
                  count(*) FILTER (WHERE status = 'delivered')::int AS delivered
             FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms'`,
          [warningId],
        );
        return open === 0 && delivered >= COUNT;
      },
      'every SMS of the warning delivered',
      120_000,
    );
  }, 180_000);
  afterAll(() => t?.close());

  it('one sweep drains more lost receipts than one round asks about, applying each once, from one listing', async () => {
    silent = await silence();
    expect(silent.length).toBeGreaterThan(200);
    const sms = t.app.get(ChannelRegistry).sms;
    const listed = jest.spyOn(sms, 'listSentSince' as never);
    const askedOne = jest.spyOn(sms, 'statusOf' as never);
    // The page's receipts are applied together, not as one callback (one transaction) each.
    const appliedOne = jest.spyOn(t.app.get(DeliveryEventsService), 'smsStatus');
    const since = new Date();
    try {
      const applied = await t.app.get(SilentSendsService).poll();
      expect(applied).toBe(silent.length);
      expect(await stillSilent()).toBe(0);
      // The provider's list of messages (1000 a page) settled them all: nobody asked one by one.
      expect(listed).toHaveBeenCalledTimes(1);
      expect(askedOne).not.toHaveBeenCalled();
      expect(appliedOne).not.toHaveBeenCalled();
      // Each person moved to delivered, with one audit event per attempt.
      expect(silentPeople.length).toBeGreaterThan(200);
      const [people] = await t.db.query(
        `SELECT count(*) FILTER (WHERE state = 'delivered' AND delivered_at IS NOT NULL)::int AS delivered
           FROM deliveries WHERE id = ANY($1)`,
        [silentPeople],
      );
      expect(people.delivered).toBe(silentPeople.length);
      const events: { subject_id: string; n: number }[] = await t.db.query(
        `SELECT subject_id, count(*)::int AS n FROM audit_events
          WHERE action = 'attempt.delivered' AND subject_id = ANY($1) AND at >= $2 GROUP BY subject_id`,
        [silent, since],
      );
      expect(events).toHaveLength(silent.length);
      expect(events.every((e) => e.n === 1)).toBe(true);
    } finally {
      listed.mockRestore();
      askedOne.mockRestore();
      appliedOne.mockRestore();
    }
  });

  it('asks one by one about the silent sends the listing could not settle', async () => {
    silent = await silence();
    const sms = t.app.get(ChannelRegistry).sms;
    // The provider's list fails (an outage of its list API): each is asked about instead.
    const listed = jest
      .spyOn(sms, 'listSentSince' as never)
      .mockImplementation((() => Promise.reject(new Error('HTTP 503'))) as never);
    const askedOne = jest.spyOn(sms, 'statusOf' as never);
    try {
      expect(await t.app.get(SilentSendsService).poll()).toBe(silent.length);
      expect(await stillSilent()).toBe(0);
      expect(askedOne).toHaveBeenCalledTimes(silent.length);
    } finally {
      listed.mockRestore();
      askedOne.mockRestore();
    }
  });

  it('a listing that cannot reach the oldest silent sends in its share of the time leaves them to be asked one by one in the same sweep', async () => {
    // Seen at 20k: newer messages filled the provider's list (newest first) for the whole budget,
    // the oldest silent sends were never reached, released, and the one-by-one rounds had no time
    // left; every sweep did the same again, and 865 receipts stayed missing for good.
    silent = await silence();
    const sms = t.app.get(ChannelRegistry).sms;
    const newer = [
      {
        providerId: `SM${'0'.repeat(32)}`,
        status: 'delivered',
        at: new Date(Date.now() + 3_600_000),
      },
    ];
    const listed = jest.spyOn(sms, 'listSentSince' as never).mockImplementation((async (
      _since: Date,
      visit: (page: unknown[]) => Promise<boolean>,
    ) => {
      while (await visit(newer)) await new Promise((r) => setTimeout(r, 100));
    }) as never);
    const askedOne = jest.spyOn(sms, 'statusOf' as never);
    try {
      expect(await t.app.get(SilentSendsService).poll()).toBe(silent.length);
      expect(await stillSilent()).toBe(0);
      expect(askedOne).toHaveBeenCalledTimes(silent.length);
    } finally {
      listed.mockRestore();
      askedOne.mockRestore();
    }
  });

  it('two sweeps at once (two worker processes) share the silent sends: each is applied once', async () => {
    silent = await silence();
    const service = t.app.get(SilentSendsService);
    const [a, b] = await Promise.all([service.poll(), service.poll()]);
    expect(a + b).toBe(silent.length);
    expect(await stillSilent()).toBe(0);
    // Asked about lately: the next sweep does not ask again about sends already asked about.
    await t.db.query(
      `UPDATE contact_attempts SET status = 'sent', delivered_at = NULL WHERE id = ANY($1)`,
      [silent],
    );
    expect(await service.poll()).toBe(0);
  });

  it('asks again RECEIPT_POLL_AFTER_SECONDS after a send was last asked about (not final then)', async () => {
    silent = await silence();
    const service = t.app.get(SilentSendsService);
    // Asked 20 s ago, when the provider did not have a final status yet: not asked again so soon.
    await t.db.query(
      `UPDATE contact_attempts SET status_asked_at = now() - interval '20 seconds' WHERE id = ANY($1)`,
      [silent],
    );
    expect(await service.poll()).toBe(0);
    expect(await stillSilent()).toBe(silent.length);
    // Asked 40 s ago (RECEIPT_POLL_AFTER_SECONDS is 30 here): asked again, and settled.
    await t.db.query(
      `UPDATE contact_attempts SET status_asked_at = now() - interval '40 seconds' WHERE id = ANY($1)`,
      [silent],
    );
    expect(await service.poll()).toBe(silent.length);
    expect(await stillSilent()).toBe(0);
  });
});
