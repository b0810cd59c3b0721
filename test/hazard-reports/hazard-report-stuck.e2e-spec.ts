import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QUEUE_NAMES } from '../../src/common/queue/queue-names';
import { presetProfile } from '../../src/sandbox/person-profiles';
import { HazardReportNotifier } from '../../src/modules/hazard-reports/hazard-report.notifier';
import { HazardReportSender } from '../../src/modules/hazard-reports/hazard-report.sender';
import { startTestApp, type TestApp } from '../helpers/app';
import { dbFault } from '../helpers/db-fault';
import { FlakyProxy } from '../helpers/flaky-proxy';
import { villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { smsAcceptedFor } from '../helpers/sandbox-sms';

const APP_SECRET = 'hazard-stuck-e2e-secret'.padEnd(40, 'k');
const COUNTY_DUTY = { ext: 'P-HK-C', name: '县值班员', mobile: '+8613800000731' };
const CITY_DUTY = { ext: 'P-HK-S', name: '州值班员', mobile: '+8613800000732' };
const PEOPLE = [COUNTY_DUTY, CITY_DUTY];

const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${COUNTY_DUTY.ext}', '${COUNTY_DUTY.name}', 'duty_officer', '513221', NULL),
    ('${CITY_DUTY.ext}', '${CITY_DUTY.name}', 'duty_officer', '5132', NULL);
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ${PEOPLE.map((p) => `('${p.ext}', '${p.mobile}')`).join(', ')}
    ) AS c(ext, mobile) ON c.ext = people.external_id;`;

/**
 * The database refuses to record the result of the city's report SMS (any change away from
 * `sending`), as if it went away at that moment on every try: the provider has accepted the SMS,
 * the notice stays `sending`. Dropped to let the database "come back".
 */
const refuseRecording = dbFault(
  'test_refuse_notice_record',
  'hazard_report_notices',
  'UPDATE',
  `OLD.status = 'sending' AND NEW.status <> 'sending' AND NEW.channel = 'sms'
   AND NEW.address = '${CITY_DUTY.mobile}'`,
);

describe('a hazard report notice left `sending` is recorded by the sweep, never sent twice', () => {
  let t: TestApp;
  let notifier: HazardReportNotifier;
  let proxy: FlakyProxy;
  const queue = () => t.app.get<Queue>(getQueueToken(QUEUE_NAMES.hazardReports));
  /** The SMS the carrier was asked to send for this notice (its callback URL names it). */
  const smsOf = (noticeId: string) =>
    smsAcceptedFor(t.sandbox!.carrier, noticeId, CITY_DUTY.mobile);
  const notice = async (id: string) =>
    (
      await t.db.query(
        `SELECT status, provider_id AS "providerId", tries FROM hazard_report_notices WHERE id = $1`,
        [id],
      )
    )[0] as { status: string; providerId: string | null; tries: number };

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      beforeApp: async (sandbox) => {
        // Passes everything on at once unless a test holds the provider's new messages.
        proxy = await FlakyProxy.start(sandbox!.carrier.baseUrl, /(Messages|Calls)\.json$/, 0);
        process.env.TWILIO_API_BASE_URL = proxy.baseUrl;
      },
      env: {
        HAZARD_REPORT_ESCALATE_AFTER_SECONDS: '600',
        // Only the test runs the sweep.
        HAZARD_REPORT_SWEEP_MS: '600000',
        // Two quick tries, so that the notice's job fails within seconds.
        SEND_RETRY_ATTEMPTS: '2',
        SEND_RETRY_BACKOFF_MS: '100',
      },
    });
    // No delivery receipt within the test (one would rightly mark the stuck SMS sent), no reply.
    for (const p of PEOPLE) {
      t.sandbox!.carrier.setProfile(
        p.mobile,
        presetProfile('no-answer', {
          sms: { reply: null, deliverAfterMs: 86_400_000 },
          voice: { ringMs: 200 },
        }),
      );
    }
    notifier = t.app.get(HazardReportNotifier, { strict: false });
  });
  afterAll(async () => {
    for (const name of [
      'HAZARD_REPORT_ESCALATE_AFTER_SECONDS',
      'HAZARD_REPORT_SWEEP_MS',
      'SEND_RETRY_ATTEMPTS',
      'SEND_RETRY_BACKOFF_MS',
    ])
      delete process.env[name];
    await t?.close();
    await proxy?.close();
  });

  /**
   * A 大型 report (the city is told) whose city SMS the provider accepts and the database refuses to
   * record on every try: its job fails, keeping the acceptance, and the notice is left `sending`,
   * older than the sweep's grace. The SMS went out once.
   */
  async function reportWithStuckCitySms(observed: string) {
    await t.db.query(refuseRecording.on);
    try {
      const res = await t
        .http()
        .post('/v1/hazard-reports')
        .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
        .send({
          hazardPoint: 'HP-1',
          observed,
          peopleThreatened: 600,
          reporter: { name: '李网格', role: '网格员' },
        });
      expect(res.status).toBe(201);
      expect(res.body.grade).toBe('大型');
      const stuck = await waitUntil(async () => {
        const [n] = await t.db.query(
          `SELECT id, status FROM hazard_report_notices
            WHERE report_id = $1 AND level = 'city' AND channel = 'sms'`,
          [res.body.id],
        );
        if (n?.status !== 'sending') return undefined;
        return (await queue().getJobState(`notice-${n.id}`)) === 'failed'
          ? (n.id as string)
          : undefined;
      }, 'the city SMS job failed with its notice left sending');
      expect(smsOf(stuck)).toHaveLength(1);
      return stuck;
    } finally {
      await t.db.query(refuseRecording.off);
    }
  }

  /** Past the sweep's grace, so that the sweep takes it for left behind. */
  const age = (noticeId: string) =>
    t.db.query(
      `UPDATE hazard_report_notices SET created_at = now() - interval '1 minute' WHERE id = $1`,
      [noticeId],
    );

  it('its failed job kept the provider’s acceptance: the sweep records it, the SMS is not sent again', async () => {
    const stuck = await reportWithStuckCitySms('后山裂缝扩大（任务保留受理）');
    expect((await queue().getJob(`notice-${stuck}`))!.data).toMatchObject({
      accepted: { providerId: smsOf(stuck)[0].ref },
    });
    await age(stuck);
    await notifier.sweep();
    const sent = await waitUntil(async () => {
      const n = await notice(stuck);
      return n.status === 'sent' ? n : undefined;
    }, 'the stuck city SMS recorded as sent');
    const created = smsOf(stuck);
    expect(created).toHaveLength(1);
    expect(sent).toEqual({ status: 'sent', providerId: created[0].ref, tries: 1 });
  });

  it('its job and the acceptance it kept are lost: the provider is asked, the SMS found there is recorded, not resent', async () => {
    const stuck = await reportWithStuckCitySms('后山裂缝扩大（任务丢失）');
    // The queue backend loses the job and, with it, the acceptance (as a worker that died after
    // the provider accepted leaves nothing behind either).
    await (await queue().getJob(`notice-${stuck}`))!.remove();
    await age(stuck);
    await notifier.sweep();
    const sent = await waitUntil(async () => {
      const n = await notice(stuck);
      return n.status === 'sent' ? n : undefined;
    }, 'the stuck city SMS recorded as sent');
    const created = smsOf(stuck);
    expect(created).toHaveLength(1);
    // Asked, not claimed and sent again.
    expect(sent).toEqual({ status: 'sent', providerId: created[0].ref, tries: 1 });
    await waitUntil(
      async () => (await queue().getJobState(`notice-${stuck}`)) === 'completed',
      'the new job of the notice completed',
    );
    expect(smsOf(stuck)).toHaveLength(1);
  });

  it('a second run of a notice job while the first waits on the provider sends nothing: the SMS goes once', async () => {
    // The provider gets each new message 3 s after it was posted: the first run waits on it.
    proxy.requestDelayMs = 3_000;
    try {
      const res = await t
        .http()
        .post('/v1/hazard-reports')
        .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
        .send({
          hazardPoint: 'HP-1',
          observed: '后山裂缝扩大（同一通知两次运行）',
          peopleThreatened: 600,
          reporter: { name: '李网格', role: '网格员' },
        });
      expect(res.status).toBe(201);
      const id = await waitUntil(async () => {
        const [n] = await t.db.query(
          `SELECT id, status FROM hazard_report_notices
            WHERE report_id = $1 AND level = 'city' AND channel = 'sms'`,
          [res.body.id],
        );
        return n?.status === 'sending' && proxy.inFlight > 0 ? (n.id as string) : undefined;
      }, 'the city SMS claimed, its request on its way to the provider');
      // A second run of the same job, as BullMQ starts one when it takes the first for stalled.
      const second = await t.app.get(HazardReportSender, { strict: false }).deliver(id, false);
      // Before: it asked the provider (nothing there yet), claimed the notice again and sent it.
      expect(second.kind).toBe('deferred');
      const sent = await waitUntil(async () => {
        const n = await notice(id);
        return n.status === 'sent' && proxy.inFlight === 0 ? n : undefined;
      }, 'the first run recorded the city SMS');
      const created = smsOf(id);
      expect(created).toHaveLength(1);
      expect(sent).toEqual({ status: 'sent', providerId: created[0].ref, tries: 1 });
    } finally {
      proxy.requestDelayMs = 0;
    }
  });
});
