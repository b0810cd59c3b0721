import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { chromium } from 'playwright-core';
import type { EntityManager } from 'typeorm';
import { NoticesRepository } from '../../src/modules/chain/notices.repository';
import { RecoverySweep } from '../../src/modules/recovery/recovery-sweep';
import { presetProfile } from '../../src/sandbox/person-profiles';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { replacePolicy, responsiblePolicy } from '../helpers/policies';
import { inboundSms } from '../helpers/twilio-webhooks';
import { waitUntil } from '../helpers/wait';
import { hoursFromNow } from '../helpers/warning-bodies';

const APP_SECRET = 'group-confirm-e2e-secret'.padEnd(40, 'g');
const GRID = '513221001001001';
/** Grid 1's responsible persons besides its grid leader: two group monitors. */
const MONITOR_1 = { ext: 'P-GM1', name: '周监测', mobile: '+8613800000006' };
const MONITOR_2 = { ext: 'P-GM2', name: '吴监测', mobile: '+8613800000008' };

const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${MONITOR_1.ext}', '${MONITOR_1.name}', 'group_monitor', '513221001001', '${GRID}'),
    ('${MONITOR_2.ext}', '${MONITOR_2.name}', 'group_monitor', '513221001001', '${GRID}');
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ('${MONITOR_1.ext}', '${MONITOR_1.mobile}'), ('${MONITOR_2.ext}', '${MONITOR_2.mobile}')
    ) AS c(ext, mobile) ON c.ext = people.external_id;`;

/** Answers by keypress only; SMS replies are sent by the test itself. */
const keys = (kind: 'confirms' | 'silent') =>
  presetProfile(kind, {
    sms: { reply: null, deliverAfterMs: 200 },
    voice: { ringMs: 300, keyAfterMs: 300 },
  });

/**
 * Chains that do not run out during a case (no not-woken notices beside the group rule's), and a
 * group rule far off: each case runs the grid's group-rule timer job itself once the answers it
 * wants are in, so what the rule sees does not depend on how fast the sandbox answers.
 */
const policy = (groupConfirm?: Record<string, unknown>) => ({
  ...responsiblePolicy({
    steps: [{ channels: ['sms', 'voice'], waitSeconds: 3600 }],
    onExhausted: { notWoken: true, supervisor: true, doorToDoor: false },
    groupRuleSeconds: 3600,
  }),
  ...(groupConfirm ? { groupConfirm } : {}),
});

describe('confirmation rules of the group rule: one, all, or N of M responsible persons', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const admin = () => ({ Authorization: `Bearer ${t.tokens.admin}` });
  const carrier = () => t.sandbox!.carrier;
  const escalationQueue = () => t.app.get<Queue>(getQueueToken('escalation'), { strict: false });
  const smsTo = (mobile: string) =>
    carrier()
      .events({ type: 'sms.created', to: mobile })
      .map((e) => String((e.data as { body: string }).body));
  const state = async (warningId: string, ext: string) =>
    (
      await t.db.query(
        `SELECT d.state FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 AND p.external_id = $2`,
        [warningId, ext],
      )
    )[0]?.state as string | undefined;
  const confirmed = (warningId: string, ...exts: string[]) =>
    waitUntil(
      async () =>
        (await Promise.all(exts.map((x) => state(warningId, x)))).every((s) => s === 'confirmed'),
      `${exts.join(', ')} confirmed`,
    );
  /** The person's alert SMS of this warning went out (an SMS reply answers the last one sent). */
  const smsSent = (warningId: string, ext: string) =>
    waitUntil(async () => {
      const [a] = await t.db.query(
        `SELECT a.id FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
          WHERE a.warning_id = $1 AND p.external_id = $2 AND a.channel = 'sms' AND a.purpose = 'warning'
            AND a.status IN ('sent', 'delivered') LIMIT 1`,
        [warningId, ext],
      );
      return a as { id: string } | undefined;
    }, `SMS to ${ext} sent`);
  const issue = async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send({
        kind: 'meteorological_risk',
        level: 'red',
        hazard: 'landslide',
        headline: '渔子溪村地质灾害气象风险红色预警',
        description: '强降雨，地质灾害风险高。',
        instruction: '责任人立即上岗到位',
        areas: ['513221001001'],
        audience: ['grid_leader', 'group_monitor'],
        effective: hoursFromNow(0),
        expires: hoursFromNow(12),
      });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  /** The grid's group-rule timer, due now: the job the fan-out scheduled, run by the worker. */
  const runGroupRule = async (warningId: string) => {
    const job = await waitUntil(
      () => escalationQueue().getJob(`group-${warningId}-v1-${GRID}`),
      'the group-rule timer of grid 1',
    );
    await job.promote();
    return waitUntil(async () => {
      const [o] = await t.db.query(
        `SELECT rule, required, total, confirmed, met, unconfirmed FROM group_rule_outcomes
          WHERE warning_id = $1 AND version = 1 AND grid_code = $2`,
        [warningId, GRID],
      );
      return o as
        | {
            rule: Record<string, unknown>;
            required: number;
            total: number;
            confirmed: number;
            met: boolean;
            unconfirmed: string[];
          }
        | undefined;
    }, 'the group rule evaluated');
  };
  const edges = async (warningId: string) =>
    t.db.query(
      `SELECT e.reason, e.resolved_at AS "resolvedAt", e.resolution, tp.external_id AS "to"
         FROM escalations e JOIN deliveries td ON td.id = e.to_delivery_id JOIN people tp ON tp.id = td.person_id
        WHERE e.warning_id = $1`,
      [warningId],
    );
  /** The grid's group-rule job has finished and left no escalation edge behind. */
  const noEdgeOnceRuleRan = async (id: string) => {
    await waitUntil(
      async () =>
        (await escalationQueue().getJob(`group-${id}-v1-${GRID}`))?.finishedOn !== undefined,
      'the group-rule job finished',
    );
    expect(await edges(id)).toEqual([]);
  };
  const cancel = async (id: string) => {
    const res = await t
      .http()
      .post(`/v1/warnings/${id}/cancel`)
      .set(duty())
      .send({ reason: '测试结束' });
    expect(res.status).toBe(200);
  };
  const profiles = (answers: Record<string, 'confirms' | 'silent'>) => {
    for (const [mobile, kind] of Object.entries(answers)) carrier().setProfile(mobile, keys(kind));
  };

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      env: { TWILIO_CALLS_PER_SECOND: '20', TWILIO_SMS_PER_SECOND: '50' },
    });
    // The village chief, alerted by the group rule, answers no call: the notice SMS always goes.
    carrier().setProfile(PEOPLE.villageChief.mobile, keys('silent'));
  });
  afterAll(() => t.close());

  it('rule all: 2 of 3 confirmed, the village chief is told "3名责任人中仅2人确认收到（要求全部确认）" and who has not', async () => {
    await replacePolicy(t, policy({ rule: 'all' }));
    profiles({
      [PEOPLE.gridLeader.mobile]: 'confirms',
      [MONITOR_1.mobile]: 'confirms',
      [MONITOR_2.mobile]: 'silent',
    });
    const id = await issue();
    await confirmed(id, PEOPLE.gridLeader.ext, MONITOR_1.ext);
    const outcome = await runGroupRule(id);
    expect(outcome).toMatchObject({
      rule: { rule: 'all' },
      required: 3,
      total: 3,
      confirmed: 2,
      met: false,
    });
    const notice = await waitUntil(
      async () => smsTo(PEOPLE.villageChief.mobile).find((b) => b.includes('网格确认人数未达要求')),
      'the notice SMS to the village chief',
    );
    expect(notice).toContain(
      `下列1个网格确认人数未达要求：1.渔子溪村第1网格3名责任人中仅2人确认收到（要求全部确认），未确认：${MONITOR_2.name}。请立即督促未确认的责任人确认，并组织巡查。`,
    );
    expect(notice).not.toContain('无责任人确认收到');
    expect(notice).not.toContain(PEOPLE.gridLeader.name);

    // The audit log says which rule was applied and what it found.
    const [event] = await t.db.query(
      `SELECT data FROM audit_events WHERE warning_id = $1 AND action = 'group_rule.evaluated'`,
      [id],
    );
    expect(event.data).toMatchObject({
      rule: { rule: 'all' },
      required: 3,
      total: 3,
      confirmed: 2,
      met: false,
    });
    // The warning's summary shows it too.
    const detail = await t.http().get(`/v1/warnings/${id}`).set(duty());
    expect(detail.body.responses.groupRules).toEqual([
      expect.objectContaining({
        gridCode: GRID,
        rule: { rule: 'all' },
        required: 3,
        total: 3,
        confirmed: 2,
        met: false,
        alerted: 1,
      }),
    ]);

    // The console's live view shows the rule and what it found.
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await page.goto(`${t.baseUrl}/console`);
      await page.fill('#token', t.tokens.duty_officer);
      await page.click('#token-form button[type=submit]');
      await page.click('[data-tab=watch]');
      await page.fill('#watch-id', id);
      await page.click('#watch-form button[type=submit]');
      const row = await page.waitForSelector(`#group-rule-table tr[data-grid="${GRID}"]`);
      expect((await row.$$eval('td', (tds) => tds.map((td) => td.textContent))).slice(1)).toEqual([
        '须全部确认',
        '2/3 (3)',
        '未达要求，已通知村级',
      ]);
    } finally {
      await browser.close();
    }

    // The third confirms: now all have, and what the notice reported is resolved.
    const [edge] = await edges(id);
    expect(edge).toMatchObject({ reason: 'group_silent', to: PEOPLE.villageChief.ext });
    await smsSent(id, MONITOR_2.ext);
    await inboundSms(t, MONITOR_2.mobile, '1');
    expect(await state(id, MONITOR_2.ext)).toBe('confirmed');
    expect((await edges(id))[0]).toMatchObject({ resolution: 'subject_answered' });
    await cancel(id);
  });

  it('rule all: a confirmation that still leaves the grid short resolves nothing', async () => {
    await replacePolicy(t, policy({ rule: 'all' }));
    profiles({
      [PEOPLE.gridLeader.mobile]: 'confirms',
      [MONITOR_1.mobile]: 'silent',
      [MONITOR_2.mobile]: 'silent',
    });
    const id = await issue();
    await confirmed(id, PEOPLE.gridLeader.ext);
    expect(await runGroupRule(id)).toMatchObject({ required: 3, confirmed: 1, met: false });
    const notice = await waitUntil(
      async () => smsTo(PEOPLE.villageChief.mobile).find((b) => b.includes('仅1人确认收到')),
      'the notice SMS to the village chief',
    );
    expect(notice).toContain(
      `渔子溪村第1网格3名责任人中仅1人确认收到（要求全部确认），未确认：${MONITOR_2.name}、${MONITOR_1.name}`,
    );
    await waitUntil(async () => (await edges(id)).length === 1, 'the silent-grid edge');
    await smsSent(id, MONITOR_1.ext);
    await inboundSms(t, MONITOR_1.mobile, '1');
    expect(await state(id, MONITOR_1.ext)).toBe('confirmed');
    // 2 of 3: the rule still asks for all, the edge stays open.
    expect((await edges(id))[0]).toMatchObject({ reason: 'group_silent', resolution: null });
    await cancel(id);
  });

  it('rule all: the last two confirmations committing together resolve the edge (neither misses the other)', async () => {
    await replacePolicy(t, policy({ rule: 'all' }));
    profiles({
      [PEOPLE.gridLeader.mobile]: 'confirms',
      [MONITOR_1.mobile]: 'silent',
      [MONITOR_2.mobile]: 'silent',
    });
    const id = await issue();
    await confirmed(id, PEOPLE.gridLeader.ext);
    expect(await runGroupRule(id)).toMatchObject({ required: 3, confirmed: 1, met: false });
    await waitUntil(async () => (await edges(id)).length === 1, 'the silent-grid edge');
    const deliveryOf = async (ext: string) =>
      (
        await t.db.query(
          `SELECT d.id FROM deliveries d JOIN people p ON p.id = d.person_id
            WHERE d.warning_id = $1 AND p.external_id = $2`,
          [id, ext],
        )
      )[0].id as string;
    const [m1, m2] = [await deliveryOf(MONITOR_1.ext), await deliveryOf(MONITOR_2.ext)];
    const notices = t.app.get(NoticesRepository);
    // Each monitor's answer as the answer path records it: the confirmation, then the notices
    // about the subject resolved, in one transaction. The first one holds its commit back until
    // the second has either finished or is waiting for it.
    const answer = (m: EntityManager, deliveryId: string) =>
      m
        .query(`UPDATE deliveries SET state = 'confirmed', confirmed_at = now() WHERE id = $1`, [
          deliveryId,
        ])
        .then(() => notices.resolve({ subjectDeliveryId: deliveryId }, m));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let firstResolved!: () => void;
    const firstDone = new Promise<void>((r) => (firstResolved = r));
    const first = t.db.transaction(async (m) => {
      await answer(m, m1);
      firstResolved();
      await held;
    });
    await firstDone;
    let secondFinished = false;
    const second = t.db
      .transaction((m) => answer(m, m2))
      .finally(() => {
        secondFinished = true;
      });
    await waitUntil(async () => {
      if (secondFinished) return true;
      const [{ waiting }] = await t.db.query(
        `SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
      );
      return waiting > 0;
    }, 'the second answer finished or waiting for the first');
    release();
    await Promise.all([first, second]);
    expect((await edges(id))[0]).toMatchObject({
      reason: 'group_silent',
      resolution: 'subject_answered',
    });
    await cancel(id);
  });

  it('rule all: all 3 confirmed, nobody is notified', async () => {
    await replacePolicy(t, policy({ rule: 'all' }));
    profiles({
      [PEOPLE.gridLeader.mobile]: 'confirms',
      [MONITOR_1.mobile]: 'confirms',
      [MONITOR_2.mobile]: 'confirms',
    });
    const id = await issue();
    await confirmed(id, PEOPLE.gridLeader.ext, MONITOR_1.ext, MONITOR_2.ext);
    expect(await runGroupRule(id)).toMatchObject({
      required: 3,
      total: 3,
      confirmed: 3,
      met: true,
      unconfirmed: [],
    });
    // The job acts on the outcome it recorded: met, so nobody is brought in.
    await noEdgeOnceRuleRan(id);
    // Not brought into the warning: nothing of it can reach the village chief.
    expect(await state(id, PEOPLE.villageChief.ext)).toBeUndefined();
    await cancel(id);
  });

  it('rule at_least 2: 2 of 3 confirmed (one of them then asked for help), nobody is notified', async () => {
    await replacePolicy(t, policy({ rule: 'at_least', count: 2 }));
    profiles({
      [PEOPLE.gridLeader.mobile]: 'confirms',
      [MONITOR_1.mobile]: 'confirms',
      [MONITOR_2.mobile]: 'silent',
    });
    const id = await issue();
    await confirmed(id, PEOPLE.gridLeader.ext, MONITOR_1.ext);
    // A request for help after the confirmation: the confirmation of receipt still counts.
    await smsSent(id, PEOPLE.gridLeader.ext);
    await inboundSms(t, PEOPLE.gridLeader.mobile, '2');
    const [gl] = await t.db.query(
      `SELECT d.state, d.help_requested_at AS "helpAt" FROM deliveries d JOIN people p ON p.id = d.person_id
        WHERE d.warning_id = $1 AND p.external_id = $2`,
      [id, PEOPLE.gridLeader.ext],
    );
    expect(gl.state).toBe('confirmed');
    expect(gl.helpAt).toBeTruthy();
    expect(await runGroupRule(id)).toMatchObject({
      rule: { rule: 'at_least', count: 2 },
      required: 2,
      total: 3,
      confirmed: 2,
      met: true,
    });
    await noEdgeOnceRuleRan(id);
    await cancel(id);
  });

  it('the default rule is one: 1 of 3 confirmed answers for the grid, as before', async () => {
    await replacePolicy(t, policy());
    const policies = await t.http().get('/v1/escalation-policies').set(admin());
    expect(
      policies.body.find((p: { name: string }) => p.name === '红橙预警-责任人').groupConfirm,
    ).toEqual({ rule: 'one' });
    profiles({
      [PEOPLE.gridLeader.mobile]: 'silent',
      [MONITOR_1.mobile]: 'confirms',
      [MONITOR_2.mobile]: 'silent',
    });
    const id = await issue();
    await confirmed(id, MONITOR_1.ext);
    expect(await runGroupRule(id)).toMatchObject({
      rule: { rule: 'one' },
      required: 1,
      total: 3,
      confirmed: 1,
      met: true,
    });
    await noEdgeOnceRuleRan(id);
    await cancel(id);
  });

  it('a group-rule timer lost with the queue backend is brought back by the recovery sweep', async () => {
    await replacePolicy(t, policy({ rule: 'all' }));
    profiles({
      [PEOPLE.gridLeader.mobile]: 'confirms',
      [MONITOR_1.mobile]: 'silent',
      [MONITOR_2.mobile]: 'silent',
    });
    const id = await issue();
    await confirmed(id, PEOPLE.gridLeader.ext);
    const job = await waitUntil(
      () => escalationQueue().getJob(`group-${id}-v1-${GRID}`),
      'the group-rule timer of grid 1',
    );
    // Lost (a Redis that lost its data), and its due time a while ago.
    await job.remove();
    await t.db.query(
      `UPDATE warnings SET fanout_done_at = now() - interval '2 hours' WHERE id = $1`,
      [id],
    );
    await waitUntil(() => t.app.get(RecoverySweep).run(), 'a recovery sweep');
    const outcome = await waitUntil(async () => {
      const [o] = await t.db.query(
        `SELECT required, confirmed, met FROM group_rule_outcomes WHERE warning_id = $1`,
        [id],
      );
      return o as { required: number; confirmed: number; met: boolean } | undefined;
    }, 'the group rule evaluated');
    expect(outcome).toEqual({ required: 3, confirmed: 1, met: false });
    await waitUntil(async () => (await edges(id)).length === 1, 'the village chief alerted');
    expect((await edges(id))[0]).toMatchObject({
      reason: 'group_silent',
      to: PEOPLE.villageChief.ext,
    });
    await cancel(id);
  });

  it('refuses a bad rule with a 400 naming the field, and changes nothing', async () => {
    await replacePolicy(t, policy({ rule: 'at_least', count: 2 }));
    const list = async () =>
      (await t.http().get('/v1/escalation-policies').set(admin())).body as {
        id: string;
        name: string;
        groupConfirm: unknown;
      }[];
    const current = (await list()).find((p) => p.name === '红橙预警-责任人')!;
    const cases: [unknown, string][] = [
      [{ rule: 'at_least', count: 0 }, 'groupConfirm.count'],
      [{ rule: 'at_least', count: -1 }, 'groupConfirm.count'],
      [{ rule: 'at_least', count: 1.5 }, 'groupConfirm.count'],
      [{ rule: 'at_least', count: 51 }, 'groupConfirm.count'],
      [{ rule: 'at_least' }, 'groupConfirm.count'],
      [{ rule: 'all', count: 2 }, 'groupConfirm.count'],
      [{ rule: 'most' }, 'groupConfirm.rule'],
      ['all', 'groupConfirm'],
    ];
    for (const [groupConfirm, field] of cases) {
      const res = await t
        .http()
        .put(`/v1/escalation-policies/${current.id}`)
        .set(admin())
        .send({ ...policy(), groupConfirm });
      expect([JSON.stringify(groupConfirm), res.status]).toEqual([
        JSON.stringify(groupConfirm),
        400,
      ]);
      expect(res.body.error.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
    const created = await t
      .http()
      .post('/v1/escalation-policies')
      .set(admin())
      .send({ ...policy({ rule: 'at_least', count: 0 }), name: '新策略' });
    expect(created.status).toBe(400);
    const after = await list();
    expect(after.find((p) => p.id === current.id)!.groupConfirm).toEqual({
      rule: 'at_least',
      count: 2,
    });
    expect(after.some((p) => p.name === '新策略')).toBe(false);
  });

  it('names the rules for the console (GET /v1/console/labels)', async () => {
    const labels = (await t.http().get('/v1/console/labels')).body;
    expect(labels.groupConfirmRules).toEqual({
      zh: { one: '一人确认即可', all: '须全部确认', at_least: '须至少N人确认' },
      en: { one: 'One confirmation', all: 'All must confirm', at_least: 'At least N must confirm' },
    });
  });

  it('documents the rule in the OpenAPI document', async () => {
    const doc = (await t.http().get('/docs-json')).body;
    const schemas = doc.components.schemas;
    expect(schemas.PolicyDto.properties.groupConfirm).toBeDefined();
    expect(schemas.GroupConfirmDto.properties.rule.enum).toEqual(['one', 'all', 'at_least']);
    expect(schemas.GroupConfirmDto.properties.count).toMatchObject({ minimum: 1, maximum: 50 });
  });
});
