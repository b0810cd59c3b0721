import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { SecretBox } from '../../src/common/crypto/secret-box';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, ROBOT_KEY, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { hoursFromNow } from '../helpers/warning-bodies';

/**
 * What people and groups actually receive, read from the sandbox's providers: a drill is marked
 * on every channel, a Feishu robot mentions people by their Feishu id from the directory, and a
 * village dropped by an update is told so on its own robot and loudspeakers, with its own name
 * and the level it had, never that the warning ended.
 */
const APP_SECRET = 'group-texts-e2e-secret'.padEnd(40, 'z');
const FEISHU_TOKEN = 'village2feishuhook';
const VILLAGE_1 = '513221001001';
const VILLAGE_2 = '513221001002';
const VILLAGE_2_PEOPLE = {
  chief: { ext: 'P-VR2', name: '周村长', mobile: '+8613800000021', feishu: 'ou_zhou2a9f' },
  deputy: { ext: 'P-VR3', name: '吴主任', mobile: '+8613800000022' },
} as const;

/** A second village (中滩堡村) with a Feishu group robot and a loudspeaker of its own. */
function village2Sql(appSecret: string): string {
  const box = new SecretBox(appSecret);
  const url = box.encrypt(`https://open.feishu.cn/open-apis/bot/v2/hook/${FEISHU_TOKEN}`);
  const p = VILLAGE_2_PEOPLE;
  return `
    INSERT INTO divisions (code, name, level, parent_code) VALUES ('${VILLAGE_2}', '中滩堡村', 'village', '513221001');
    INSERT INTO grids (code, name, village_code) VALUES ('${VILLAGE_2}001', '中滩堡村第1网格', '${VILLAGE_2}');
    INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
      ('${p.chief.ext}', '${p.chief.name}', 'village_responsible', '${VILLAGE_2}', NULL),
      ('${p.deputy.ext}', '${p.deputy.name}', 'village_responsible', '${VILLAGE_2}', NULL);
    INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, c.kind, c.value, c.priority FROM people JOIN (VALUES
      ('${p.chief.ext}', 'mobile', '${p.chief.mobile}', 1),
      ('${p.chief.ext}', 'feishu', '${p.chief.feishu}', 3),
      ('${p.deputy.ext}', 'mobile', '${p.deputy.mobile}', 1)
    ) AS c(ext, kind, value, priority) ON c.ext = people.external_id;
    INSERT INTO group_robots (code, platform, name, division_code, grid_code, webhook_url_encrypted)
      VALUES ('ROBOT-V2', 'feishu', '中滩堡村群', '${VILLAGE_2}', NULL, '${url}');
    INSERT INTO broadcast_terminals (code, name, division_code) VALUES ('T-002', '中滩堡村大喇叭', '${VILLAGE_2}');
  `;
}

function riskWarning(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'meteorological_risk',
    level: 'orange',
    hazard: 'landslide',
    headline: '汶川县映秀镇地质灾害气象风险橙色预警',
    description: '受强降雨影响，映秀镇地质灾害风险高。',
    instruction: '加强巡查，做好撤离准备',
    areas: [VILLAGE_1, VILLAGE_2],
    audience: ['village_responsible', 'grid_leader', 'resident'],
    effective: hoursFromNow(0),
    expires: hoursFromNow(24),
    ...overrides,
  };
}

describe('sent texts: drills, mentions, groups dropped by an update', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + village2Sql(APP_SECRET),
      env: { TWILIO_CALLS_PER_SECOND: '5' },
    });
    for (const p of [...Object.values(PEOPLE), ...Object.values(VILLAGE_2_PEOPLE)])
      t.sandbox!.carrier.setProfile(p.mobile, 'confirms');
  });
  afterAll(() => t.close());

  type GroupSend = { version: number; msgType: string; channel: string; target: string };
  const sentGroups = async (id: string): Promise<GroupSend[]> =>
    t.db.query(
      `SELECT version, msg_type AS "msgType", channel, target_code AS target FROM group_sends
        WHERE warning_id = $1 AND status = 'sent' ORDER BY version, channel, target_code`,
      [id],
    );
  const robotTexts = (token: string): string[] =>
    t
      .sandbox!.carrier.events({ type: 'robot.message' })
      .filter((e) => e.to === token)
      .map((e) => String((e.data as { text: string }).text));
  const broadcastTexts = async (id: string, terminal: string): Promise<string[]> => {
    const refs = (
      await t.db.query(
        `SELECT id FROM group_sends WHERE warning_id = $1 AND channel = 'broadcast' AND $2 = ANY (terminal_codes)`,
        [id, terminal],
      )
    ).map((r: { id: string }) => r.id);
    return t
      .sandbox!.carrier.events({ type: 'broadcast.task' })
      .filter((e) => refs.includes(String((e.data as { taskRef: string }).taskRef)))
      .map((e) => String((e.data as { text: string }).text));
  };

  it('an exercise is marked on every channel, and a Feishu robot mentions people by their Feishu id from the directory', async () => {
    const carrier = t.sandbox!.carrier;
    const since = carrier.events().at(-1)?.seq ?? 0;
    const issued = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send(
        riskWarning({ status: 'exercise', headline: '映秀镇地质灾害气象风险橙色预警（演练）' }),
      );
    expect(issued.status).toBe(201);
    const id = issued.body.id as string;
    await waitUntil(async () => {
      const sent = await sentGroups(id);
      return sent.length === 4 ? sent : undefined;
    }, 'both robots and both villages’ loudspeakers heard the drill');
    const [{ n: sms }] = await t.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms' AND status IN ('sent', 'delivered')`,
      [id],
    );
    expect(sms).toBeGreaterThan(0);

    // SMS: the carrier signature, then the mark, on every SMS of the drill (short and full).
    const smsBodies = await waitUntil(async () => {
      const bodies = carrier
        .events({ type: 'sms.created', since })
        .map((e) => String((e.data as { body: string }).body));
      return bodies.length >= sms ? bodies : undefined;
    }, 'the drill’s SMS at the carrier');
    for (const body of smsBodies) expect(body).toMatch(/^【[^】]+】【演练】/);
    expect(
      smsBodies.some((b) => b.startsWith('【应急预警】【演练】地质灾害气象风险橙色预警')),
    ).toBe(true);

    // The call says 这是一次演练 before its text and again after it, before the keypress prompt.
    const says = await waitUntil(async () => {
      const e = carrier.events({ type: 'call.say', since });
      return e.length ? e : undefined;
    }, 'a call of the drill played');
    const script = String(
      (
        says.find((e) => String((e.data as { text: string }).text).length > 40)!.data as {
          text: string;
        }
      ).text,
    );
    expect(script.startsWith('这是一次演练。')).toBe(true);
    expect(script).toMatch(/这是一次演练。(按1确认收到，按2请求支援)?$/);
    expect(script.match(/这是一次演练/g)).toHaveLength(2);

    // Robots: the mark in the title (Feishu card header) and at the start of the text.
    const feishu = carrier
      .events({ type: 'robot.message', since })
      .filter((e) => e.to === FEISHU_TOKEN)
      .map((e) => e.data as { text: string; mentions: { userIds: string[] } });
    expect(feishu).toHaveLength(1);
    // The card's header title (the sandbox reads the card's strings in order: its header first).
    expect(feishu[0]!.text).toMatch(/^plain_text 【演练】地质灾害气象风险橙色预警 /);
    expect(feishu[0]!.text).toContain('**【演练】🟠 地质灾害气象风险橙色预警**');
    // Mentioned by the Feishu id the directory holds (a real <at>, so Feishu notifies them)…
    const chief = VILLAGE_2_PEOPLE.chief;
    expect(feishu[0]!.text).toContain(`<at user_id="${chief.feishu}">${chief.name}</at>`);
    expect(feishu[0]!.mentions.userIds).toEqual([chief.feishu]);
    // …and a person without one by name, saying they were not notified in the group.
    const deputy = VILLAGE_2_PEOPLE.deputy;
    expect(feishu[0]!.text).toContain(`${deputy.name}（未绑定群账号，无法@提醒）`);
    expect(feishu[0]!.text).not.toMatch(new RegExp(`@${deputy.name}|<at[^>]*>${deputy.name}`));
    const wecom = carrier
      .events({ type: 'robot.message', since })
      .filter((e) => e.to === ROBOT_KEY)
      .map((e) => String((e.data as { text: string }).text));
    // WeCom: the markdown, then the text message that carries the mentions; both marked.
    expect(wecom.length).toBeGreaterThan(0);
    for (const text of wecom) expect(text).toMatch(/^(\*\*)?【演练】/);

    // E-mail: the mark at the start of the subject.
    const mail = await waitUntil(
      async () =>
        carrier
          .events({ type: 'email.received', since })
          .find((e) => e.to === PEOPLE.villageChief.email),
      'the drill’s e-mail',
    );
    expect(String((mail.data as { subject: string }).subject)).toMatch(/^【演练】/);

    // Loudspeakers: 这是一次演练 before and after the text.
    for (const terminal of ['T-001', 'T-002']) {
      const [speaker] = await broadcastTexts(id, terminal);
      expect(speaker).toMatch(/^这是一次演练。村民朋友们请注意：/);
      expect(speaker).toMatch(/这是一次演练。$/);
    }
    await t.http().post(`/v1/warnings/${id}/cancel`).set(duty()).send({ reason: '演练结束' });
  });

  it('a village dropped by an update hears on its robot and loudspeaker that its own area left the warning, with the level it had; a later cancel does not tell it again', async () => {
    const issued = await t.http().post('/v1/warnings').set(duty()).send(riskWarning());
    expect(issued.status).toBe(201);
    const id = issued.body.id as string;
    await waitUntil(async () => {
      const sent = await sentGroups(id);
      return sent.length === 4 ? sent : undefined;
    }, 'both robots and both villages’ loudspeakers heard the alert');
    const robotBefore = robotTexts(FEISHU_TOKEN).length;

    // Raised to red for 渔子溪村 only: 中滩堡村 leaves the warning.
    const updated = await t
      .http()
      .post(`/v1/warnings/${id}/updates`)
      .set(duty())
      .send({ ...riskWarning({ level: 'red', areas: [VILLAGE_1] }), kind: undefined });
    expect(updated.status).toBe(201);
    const v2 = await waitUntil(async () => {
      const sent = (await sentGroups(id)).filter((g) => g.version === 2);
      return sent.length === 4 ? sent : undefined;
    }, 'the update and the releases of version 2 sent');
    expect(v2).toEqual([
      { version: 2, msgType: 'update', channel: 'broadcast', target: VILLAGE_1 },
      { version: 2, msgType: 'cancel', channel: 'broadcast', target: VILLAGE_2 },
      { version: 2, msgType: 'cancel', channel: 'feishu', target: 'ROBOT-V2' },
      { version: 2, msgType: 'update', channel: 'wecom', target: 'ROBOT-G1' },
    ]);

    const [robot] = robotTexts(FEISHU_TOKEN).slice(robotBefore);
    expect(robot).toContain('中滩堡村已不在地质灾害气象风险橙色预警范围内');
    expect(robot).not.toMatch(/解除|已结束|红色|渔子溪村/);
    const speakers = await broadcastTexts(id, 'T-002');
    expect(speakers).toHaveLength(2);
    expect(speakers[1]).toContain('中滩堡村已不在地质灾害气象风险橙色预警范围内');
    expect(speakers[1]).not.toMatch(/解除|已结束|红色|渔子溪村/);
    // 渔子溪村's groups hear the update, not a release.
    expect((await broadcastTexts(id, 'T-001'))[1]).toMatch(/更新.*红色/);
    expect(robotTexts(ROBOT_KEY).pop()).not.toContain('已不在');

    // The cancel is heard where the warning still was, and nowhere it was already released.
    const cancelled = await t
      .http()
      .post(`/v1/warnings/${id}/cancel`)
      .set(duty())
      .send({ reason: '降雨过程结束' });
    expect(cancelled.status).toBe(200);
    const v3 = await waitUntil(async () => {
      const sent = (await sentGroups(id)).filter((g) => g.version === 3);
      return sent.length >= 2 ? sent : undefined;
    }, 'the cancel sent to the groups');
    await new Promise((r) => setTimeout(r, 500));
    expect(
      (
        await t.db.query(
          `SELECT count(*)::int AS n FROM group_sends WHERE warning_id = $1 AND version = 3`,
          [id],
        )
      )[0].n,
    ).toBe(2);
    expect(v3).toEqual([
      { version: 3, msgType: 'cancel', channel: 'broadcast', target: VILLAGE_1 },
      { version: 3, msgType: 'cancel', channel: 'wecom', target: 'ROBOT-G1' },
    ]);
  });

  it('a group message of an earlier version still waiting when an update comes is not sent: only the current version is heard', async () => {
    const queues = ['send-robot', 'send-broadcast'].map(
      (name) => t.app.get(getQueueToken(name), { strict: false }) as Queue,
    );
    for (const q of queues) await q.pause();
    let id = '';
    const before = robotTexts(ROBOT_KEY).length;
    const smsToLeader = () =>
      t
        .sandbox!.carrier.events({ type: 'sms.created', to: PEOPLE.gridLeader.mobile })
        .map((e) => String((e.data as { body: string }).body));
    const smsBefore = smsToLeader().length;
    try {
      const issued = await t
        .http()
        .post('/v1/warnings')
        .set(duty())
        .send(
          riskWarning({ areas: [VILLAGE_1], headline: '映秀镇地质灾害气象风险橙色预警（待发）' }),
        );
      expect(issued.status).toBe(201);
      id = issued.body.id as string;
      await waitUntil(async () => {
        const [{ n }] = await t.db.query(
          `SELECT count(*)::int AS n FROM group_sends WHERE warning_id = $1 AND version = 1`,
          [id],
        );
        return n === 2 || undefined;
      }, 'the robot and loudspeaker messages of version 1 planned');
      const updated = await t
        .http()
        .post(`/v1/warnings/${id}/updates`)
        .set(duty())
        .send({ ...riskWarning({ level: 'red', areas: [VILLAGE_1] }), kind: undefined });
      expect(updated.status).toBe(201);
      await waitUntil(async () => {
        const [{ n }] = await t.db.query(
          `SELECT count(*)::int AS n FROM group_sends WHERE warning_id = $1 AND version = 2`,
          [id],
        );
        return n === 2 || undefined;
      }, 'the messages of version 2 planned');
    } finally {
      for (const q of queues) await q.resume();
    }
    const rows = await waitUntil(async () => {
      const all = await t.db.query(
        `SELECT version, channel, status FROM group_sends WHERE warning_id = $1 ORDER BY version, channel`,
        [id],
      );
      return all.every((g: { status: string }) => ['sent', 'cancelled'].includes(g.status))
        ? all
        : undefined;
    }, 'every group message sent or cancelled');
    expect(rows).toEqual([
      { version: 1, channel: 'broadcast', status: 'cancelled' },
      { version: 1, channel: 'wecom', status: 'cancelled' },
      { version: 2, channel: 'broadcast', status: 'sent' },
      { version: 2, channel: 'wecom', status: 'sent' },
    ]);
    // The update's post (its card and the follow-up naming who should confirm), nothing orange.
    const heard = robotTexts(ROBOT_KEY).slice(before);
    expect(heard.length).toBeGreaterThan(0);
    // What changed is said from the version before (not 预警内容已更新), on the robot and by SMS.
    expect(heard[0]).toMatch(/变更内容\*\*：预警等级由橙色（二级）提升为红色（一级）\n/);
    expect(heard[0]).not.toContain('预警内容已更新');
    const sms = await waitUntil(async () => {
      const texts = smsToLeader()
        .slice(smsBefore)
        .filter((body) => body.includes('更新地质灾害气象风险红色预警'));
      return texts.length ? texts : undefined;
    }, 'the update SMS to the grid leader');
    expect(sms[0]).toContain('变更内容：预警等级由橙色（二级）提升为红色（一级）\n');
    expect(heard.every((text) => text.includes('红色预警（更新）'))).toBe(true);
    expect(heard.some((text) => text.includes('橙色预警'))).toBe(false);
    await t.http().post(`/v1/warnings/${id}/cancel`).set(duty()).send({ reason: '测试结束' });
  });
});
