import type { RobotPlatform } from '../../common/domain/directory.types';
import type { SandboxCarrier } from '../../sandbox/sandbox-carrier';
import { startTestSandbox } from '../../sandbox/testing/fixtures';
import { IMMINENT_RED_ALERT } from '../../templates/examples';
import { renderMessage } from '../../templates/registry';
import type { RobotMention } from '../../templates/types';
import type { GroupRobotClient, RobotSendMessage, RobotTarget } from '../channel.interface';
import { ChannelError } from '../channel.types';
import { closedPort, StubProvider } from '../testing/stub-provider';
import { DingTalkRobotClient } from './dingtalk.robot';
import { FeishuRobotClient } from './feishu.robot';
import { RobotRegistry } from './robot-registry';
import { WeComRobotClient } from './wecom.robot';

/** Robots known to this sandbox: token → signing secret ('' = no signing). */
const ROBOTS: Record<RobotPlatform, Record<string, string>> = {
  wecom: { 'wecom-ok': '', 'wecom-rl': '', 'wecom-long': '' },
  dingtalk: {
    'ding-signed': 'SECding-secret',
    'ding-open': '',
    'ding-rl': '',
    'ding-long': 'SECding-long',
  },
  feishu: {
    'feishu-signed': 'feishu-secret',
    'feishu-open': '',
    'feishu-rl': '',
    'feishu-long': '',
  },
};

const MENTIONS: RobotMention[] = [
  {
    name: '张三',
    userId: 'zhangsan',
    mobile: '+8613800000001',
    confirmUrl: 'https://gw.example.cn/c/1',
  },
  { name: '李四', mobile: '+8613800000002', confirmUrl: 'https://gw.example.cn/c/2' },
];

/** The first part of the real template's rendering for the platform. */
function rendered(platform: RobotPlatform, mentions: RobotMention[] = MENTIONS): RobotSendMessage {
  const message = renderMessage('robot', { warning: IMMINENT_RED_ALERT, platform, mentions });
  return { ...message.messages[0], title: message.title };
}

function long(platform: RobotPlatform, bytes: number): RobotSendMessage {
  const markdown = '预'.repeat(Math.ceil(bytes / 3));
  return {
    title: '滑坡红色临灾预警',
    markdown,
    bytes: Buffer.byteLength(markdown),
    mentions: [],
    atMobiles: [],
    atUserIds: [],
  };
}

async function failure(p: Promise<unknown>): Promise<ChannelError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChannelError);
  return err as ChannelError;
}

describe('group robots against the sandbox carrier', () => {
  let carrier: SandboxCarrier;
  let wecom: WeComRobotClient;
  let dingtalk: DingTalkRobotClient;
  let feishu: FeishuRobotClient;
  const warnings: string[] = [];

  beforeAll(async () => {
    // Real time (timeScale 1): the vendors' rate-limit windows are a real minute / second here.
    carrier = await startTestSandbox({
      timeScale: 1,
      robotSecret: (platform, token) => ROBOTS[platform][token],
    });
    const base = carrier.baseUrl;
    wecom = new WeComRobotClient({ apiBaseUrl: base, warn: (m) => warnings.push(m) });
    dingtalk = new DingTalkRobotClient({ apiBaseUrl: base });
    feishu = new FeishuRobotClient({ apiBaseUrl: base });
  });

  afterAll(() => carrier.stop());

  /** The stored (real vendor) webhook URLs; the clients re-base them onto the sandbox. */
  const wecomRobot = (key: string): RobotTarget => ({
    code: key,
    webhookUrl: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${key}`,
  });
  const dingRobot = (token: string, secret?: string): RobotTarget => ({
    code: token,
    webhookUrl: `https://oapi.dingtalk.com/robot/send?access_token=${token}`,
    ...(secret !== undefined ? { secret } : {}),
  });
  const feishuRobot = (token: string, secret?: string): RobotTarget => ({
    code: token,
    webhookUrl: `https://open.feishu.cn/open-apis/bot/v2/hook/${token}`,
    ...(secret !== undefined ? { secret } : {}),
  });

  describe('WeCom', () => {
    it('sends the markdown (@ by userid), then a text message that @s by mobile those without a userid', async () => {
      const message = rendered('wecom');
      expect(wecom.requestsFor(message)).toBe(2);
      const receipt = await wecom.send(wecomRobot('wecom-ok'), message);
      expect(receipt).toMatchObject({ status: 'ok' });
      expect(receipt.providerId).toMatch(/^wecom_/);
      const sent = carrier.events({ type: 'robot.message', to: 'wecom-ok' });
      expect(sent.map((e) => e.data.msgtype)).toEqual(['markdown', 'text']);
      expect(sent[0].data.mentions).toMatchObject({ userIds: ['zhangsan'] });
      expect(sent[0].data.links).toEqual(
        expect.arrayContaining(['https://gw.example.cn/c/1', 'https://gw.example.cn/c/2']),
      );
      expect(sent[1].data.mentions).toMatchObject({ mobiles: ['13800000002'], userIds: [] });
      expect(warnings).toEqual([]);
    });

    it('with a pacer, the follow-up waits for its own slot (the caller takes one)', async () => {
      const paced: string[] = [];
      const order: string[] = [];
      const client = new WeComRobotClient({
        apiBaseUrl: carrier.baseUrl,
        paceExtraRequest: (platform, robot) => {
          paced.push(`${platform}:${robot.code}`);
          order.push(
            `pace after ${carrier.events({ type: 'robot.message', to: 'wecom-ok' }).length} sent`,
          );
          return Promise.resolve(0);
        },
      });
      const message = rendered('wecom');
      expect(client.requestsFor(message)).toBe(1);
      const before = carrier.events({ type: 'robot.message', to: 'wecom-ok' }).length;
      await client.send(wecomRobot('wecom-ok'), message);
      expect(paced).toEqual(['wecom:wecom-ok']);
      expect(order).toEqual([`pace after ${before + 1} sent`]); // between the markdown and the text
      expect(carrier.events({ type: 'robot.message', to: 'wecom-ok' })).toHaveLength(before + 2);
    });

    it('sends one request when everyone has a userid', async () => {
      expect(wecom.requestsFor(rendered('wecom', [MENTIONS[0]]))).toBe(1);
    });

    it('an unknown key → 93000 permanent', async () => {
      const err = await failure(
        wecom.send({ ...wecomRobot('no-such-key'), code: 'grid-7' }, rendered('wecom', [])),
      );
      expect(err).toMatchObject({ kind: 'permanent', code: '93000' });
      expect(err.message).toContain("WeCom robot 'grid-7'");
      expect(err.message).not.toContain('no-such-key'); // never the URL's key: robots are named by code
    });

    it('over 20 a minute → 45009 rate_limited, retry after a minute', async () => {
      const message = rendered('wecom', []);
      const results = await Promise.allSettled(
        Array.from({ length: 22 }, () => wecom.send(wecomRobot('wecom-rl'), message)),
      );
      const refused = results.flatMap((r) =>
        r.status === 'rejected' ? [r.reason as ChannelError] : [],
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
      expect(refused).toHaveLength(2);
      for (const err of refused)
        expect(err).toMatchObject({ kind: 'rate_limited', code: '45009', retryAfterMs: 60_000 });
    });

    it('refuses markdown over 4096 bytes before sending', async () => {
      const err = await failure(wecom.send(wecomRobot('wecom-long'), long('wecom', 4_100)));
      expect(err).toMatchObject({ kind: 'permanent', code: 'too_long' });
      expect(carrier.events({ to: 'wecom-long' })).toHaveLength(0);
    });
  });

  describe('DingTalk', () => {
    it('signs the URL (timestamp ms + HMAC-SHA256) and @s by mobile in `at` and in the text', async () => {
      const message = rendered('dingtalk');
      await dingtalk.send(dingRobot('ding-signed', 'SECding-secret'), message);
      const sent = await carrier.waitFor({ type: 'robot.message', to: 'ding-signed' });
      expect(sent.data.msgtype).toBe('markdown');
      expect(sent.data.mentions).toMatchObject({ mobiles: ['13800000001', '13800000002'] });
      expect(String(sent.data.text)).toContain('@13800000002');
      expect(String(sent.data.text)).not.toContain('@+86');
    });

    it('works for a robot without signing', async () => {
      await expect(
        dingtalk.send(dingRobot('ding-open'), rendered('dingtalk', [])),
      ).resolves.toMatchObject({ status: 'ok' });
    });

    it('a wrong secret → 310000 permanent', async () => {
      const err = await failure(
        dingtalk.send(dingRobot('ding-signed', 'SECwrong'), rendered('dingtalk', [])),
      );
      expect(err).toMatchObject({ kind: 'permanent', code: '310000' });
    });

    it('over 20 a minute → 130101 rate_limited for the 10-minute block', async () => {
      const message = rendered('dingtalk', []);
      const results = await Promise.allSettled(
        Array.from({ length: 21 }, () => dingtalk.send(dingRobot('ding-rl'), message)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
      const blocked = await failure(dingtalk.send(dingRobot('ding-rl'), message));
      expect(blocked).toMatchObject({
        kind: 'rate_limited',
        code: '130101',
        retryAfterMs: 600_000,
      });
    });

    it('refuses markdown over 20000 bytes before sending', async () => {
      const err = await failure(
        dingtalk.send(dingRobot('ding-long', 'SECding-long'), long('dingtalk', 20_010)),
      );
      expect(err).toMatchObject({ kind: 'permanent', code: 'too_long' });
      expect(carrier.events({ to: 'ding-long' })).toHaveLength(0);
    });
  });

  describe('Feishu', () => {
    it('sends a signed interactive card (timestamp s + sign in the body) with <at id=…> mentions', async () => {
      const message = rendered('feishu', [MENTIONS[0]]);
      await feishu.send(feishuRobot('feishu-signed', 'feishu-secret'), message);
      const sent = await carrier.waitFor({ type: 'robot.message', to: 'feishu-signed' });
      expect(sent.data.msgtype).toBe('interactive');
      expect(sent.data.mentions).toMatchObject({ userIds: ['zhangsan'] });
      expect(String(sent.data.text)).toContain(message.title);
      const body = feishu.body(feishuRobot('x', 's'), message);
      expect(body).toMatchObject({
        msg_type: 'interactive',
        card: { header: { template: 'red' } },
      });
      expect(body.timestamp).toMatch(/^\d{10}$/);
    });

    it('a wrong secret → 19021 permanent; an unknown token → 19001 permanent', async () => {
      const wrong = await failure(
        feishu.send(feishuRobot('feishu-signed', 'wrong'), rendered('feishu', [])),
      );
      expect(wrong).toMatchObject({ kind: 'permanent', code: '19021' });
      const unknown = await failure(
        feishu.send(feishuRobot('no-such-token'), rendered('feishu', [])),
      );
      expect(unknown).toMatchObject({ kind: 'permanent', code: '19001' });
    });

    it('over 5 a second → 11232 rate_limited', async () => {
      const message = rendered('feishu', []);
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => feishu.send(feishuRobot('feishu-rl'), message)),
      );
      const refused = results.flatMap((r) =>
        r.status === 'rejected' ? [r.reason as ChannelError] : [],
      );
      expect(refused.length).toBeGreaterThanOrEqual(3);
      for (const err of refused) expect(err).toMatchObject({ kind: 'rate_limited', code: '11232' });
    });

    it('refuses a request body over 20 KB before sending', async () => {
      const err = await failure(feishu.send(feishuRobot('feishu-long'), long('feishu', 21_000)));
      expect(err).toMatchObject({ kind: 'permanent', code: 'too_long' });
      expect(carrier.events({ to: 'feishu-long' })).toHaveLength(0);
    });
  });

  it('the registry picks the client by platform', () => {
    const registry = new RobotRegistry([wecom, dingtalk, feishu]);
    expect(registry.get('dingtalk')).toBe(dingtalk);
    expect(registry.platforms()).toEqual(['wecom', 'dingtalk', 'feishu']);
    expect(() => new RobotRegistry([wecom, wecom])).toThrow('two robot clients');
  });
});

describe('group robots: HTTP-level failures', () => {
  let stub: StubProvider;
  const clients = (): GroupRobotClient[] => [
    new WeComRobotClient({ apiBaseUrl: stub.baseUrl }),
    new DingTalkRobotClient({ apiBaseUrl: stub.baseUrl }),
    new FeishuRobotClient({ apiBaseUrl: stub.baseUrl }),
  ];
  const robot: RobotTarget = { code: 'r1', webhookUrl: 'https://example.invalid/hook?key=k' };
  const msg = (platform: RobotPlatform) => rendered(platform, []);

  beforeAll(async () => {
    stub = await StubProvider.start({ status: 200 });
  });
  afterAll(() => stub.stop());

  it.each([
    ['HTTP 500', { status: 500, body: 'oops' }, 'transient', 'HTTP_500'],
    [
      'HTTP 502 with HTML',
      { status: 502, body: '<html>bad gateway</html>' },
      'transient',
      'HTTP_502',
    ],
    [
      'HTTP 429 with Retry-After',
      { status: 429, body: '', headers: { 'Retry-After': '7' } },
      'rate_limited',
      'HTTP_429',
    ],
    ['HTTP 404', { status: 404, body: 'not found' }, 'permanent', 'HTTP_404'],
    ['200 that is not the vendor JSON', { status: 200, body: 'OK' }, 'transient', 'bad_answer'],
  ])('%s', async (_what, answer, kind, code) => {
    stub.answer = answer;
    for (const client of clients()) {
      const err = await failure(client.send(robot, msg(client.platform)));
      expect(err).toMatchObject({ kind, code });
      if (kind === 'rate_limited') expect(err.retryAfterMs).toBe(7_000);
    }
  });

  it('vendor codes: WeCom -1 busy is transient; Feishu 9499 "too many request" is rate_limited', async () => {
    stub.answer = { status: 200, body: { errcode: -1, errmsg: 'system busy' } };
    expect(
      await failure(new WeComRobotClient({ apiBaseUrl: stub.baseUrl }).send(robot, msg('wecom'))),
    ).toMatchObject({ kind: 'transient', code: '-1' });
    stub.answer = { status: 400, body: { code: 9499, msg: 'too many request', data: {} } };
    expect(
      await failure(new FeishuRobotClient({ apiBaseUrl: stub.baseUrl }).send(robot, msg('feishu'))),
    ).toMatchObject({ kind: 'rate_limited', code: '9499' });
    stub.answer = { status: 400, body: { code: 9499, msg: 'Bad Request', data: {} } };
    expect(
      await failure(new FeishuRobotClient({ apiBaseUrl: stub.baseUrl }).send(robot, msg('feishu'))),
    ).toMatchObject({ kind: 'permanent', code: '9499' });
    stub.answer = { status: 200, body: { code: 19024, msg: 'Key Words Not Found' } };
    expect(
      await failure(new FeishuRobotClient({ apiBaseUrl: stub.baseUrl }).send(robot, msg('feishu'))),
    ).toMatchObject({ kind: 'permanent', code: '19024' });
  });

  it('a robot that cannot be reached → transient; a malformed stored URL → permanent', async () => {
    const port = await closedPort();
    const unreachable = new DingTalkRobotClient({ apiBaseUrl: `http://127.0.0.1:${port}` });
    expect(await failure(unreachable.send(robot, msg('dingtalk')))).toMatchObject({
      kind: 'transient',
      code: 'ECONNREFUSED',
    });
    const direct = new DingTalkRobotClient();
    expect(await failure(direct.send({ webhookUrl: 'not a url' }, msg('dingtalk')))).toMatchObject({
      kind: 'permanent',
      code: 'invalid_webhook_url',
    });
  });

  it('a WeCom mention follow-up that fails is reported, not failed', async () => {
    const notes: string[] = [];
    const client = new WeComRobotClient({ apiBaseUrl: stub.baseUrl, warn: (m) => notes.push(m) });
    stub.next.push(
      { status: 200, body: { errcode: 0, errmsg: 'ok' } },
      { status: 200, body: { errcode: 45009, errmsg: 'api freq out of limit' } },
    );
    const receipt = await client.send(robot, rendered('wecom'));
    expect(receipt.status).toBe('ok_mentions_failed');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain('45009');
    expect(notes[0]).not.toContain('example.invalid');
  });
});
