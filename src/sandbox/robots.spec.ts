import { createHmac } from 'node:crypto';
import type { SandboxCarrier } from './sandbox-carrier';
import { startTestSandbox, TEST_ROBOTS } from './testing/fixtures';

type Json = Record<string, unknown>;

async function post(url: string, body: unknown): Promise<Json> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  expect(res.status).toBe(200); // the vendors answer 200 and put the error in the body
  return (await res.json()) as Json;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signatures computed here from the vendors' documentation, independently of the sandbox. */
function dingTalkQuery(secret: string, timestamp = Date.now()): string {
  const sign = createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
  return `&timestamp=${timestamp}&sign=${encodeURIComponent(sign)}`;
}

function feishuSigned(
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): { timestamp: string; sign: string } {
  const sign = createHmac('sha256', `${timestamp}\n${secret}`).update('').digest('base64');
  return { timestamp: String(timestamp), sign };
}

describe('sandbox carrier: group robots', () => {
  let carrier: SandboxCarrier;

  beforeEach(async () => {
    carrier = await startTestSandbox();
  });

  afterEach(async () => {
    await carrier.stop();
  });

  describe('WeCom', () => {
    const url = (key: string) => carrier.urls().wecom(key);

    it('accepts a text message and records its @mentions and links', async () => {
      const res = await post(url('wecom-key-1'), {
        msgtype: 'text',
        text: {
          content: '【橙色预警】请网格长立即确认：http://gw.local/ack/abc?sig=1 收到请点击',
          mentioned_mobile_list: ['13800000001', '@all'],
          mentioned_list: ['zhangsan'],
        },
      });
      expect(res).toEqual({ errcode: 0, errmsg: 'ok' });
      const [event] = carrier.events({ channel: 'wecom', type: 'robot.message' });
      expect(event.to).toBe('wecom-key-1');
      expect(event.data).toMatchObject({
        msgtype: 'text',
        mentions: { mobiles: ['13800000001'], userIds: ['zhangsan'], all: true },
        links: ['http://gw.local/ack/abc?sig=1'],
      });
    });

    it('records <@userid> mentions and markdown links', async () => {
      const res = await post(url('wecom-key-1'), {
        msgtype: 'markdown',
        markdown: { content: '## 预警 <@lisi>\n[确认收到](http://gw.local/ack/x)' },
      });
      expect(res.errcode).toBe(0);
      expect(carrier.events({ type: 'robot.message' })[0].data).toMatchObject({
        mentions: { userIds: ['lisi'] },
        links: ['http://gw.local/ack/x'],
      });
    });

    it('refuses an unknown key (93000), an unknown msgtype (40008) and content over the byte limit (40058)', async () => {
      expect(
        (await post(url('no-such-key'), { msgtype: 'text', text: { content: 'x' } })).errcode,
      ).toBe(93000);
      expect((await post(url('wecom-key-1'), { msgtype: 'voice', voice: {} })).errcode).toBe(40008);
      const tooLongText = await post(url('wecom-key-1'), {
        msgtype: 'text',
        text: { content: '预'.repeat(683) },
      });
      expect(tooLongText.errcode).toBe(40058); // 2049 bytes > 2048
      const okText = await post(url('wecom-key-1'), {
        msgtype: 'text',
        text: { content: '预'.repeat(682) },
      });
      expect(okText.errcode).toBe(0);
      const tooLongMd = await post(url('wecom-key-1'), {
        msgtype: 'markdown',
        markdown: { content: 'a'.repeat(4097) },
      });
      expect(tooLongMd.errcode).toBe(40058);
      expect(String(tooLongMd.errmsg)).toContain('4096');
      expect(
        carrier.events({ channel: 'wecom', type: 'robot.rejected' }).map((e) => e.data.code),
      ).toEqual([93000, 40008, 40058, 40058]);
    });

    it('allows 20 messages a minute per key (45009 beyond), then again once the minute has passed', async () => {
      // timeScale 0.1 (a minute is 6 s): the 21 requests surely fall in one minute, even on a
      // loaded machine (at 0.01 a minute was 600 ms, and a slow burst spanned two).
      const slow = await startTestSandbox({ timeScale: 0.1 });
      try {
        const at = (key: string) => slow.urls().wecom(key);
        const msg = { msgtype: 'text', text: { content: '预警' } };
        const burst = await Promise.all(
          Array.from({ length: 21 }, () => post(at('wecom-key-1'), msg)),
        );
        expect(burst.filter((r) => r.errcode === 0)).toHaveLength(20);
        expect(burst.filter((r) => r.errcode === 45009)).toEqual([
          { errcode: 45009, errmsg: 'api freq out of limit' },
        ]);
        expect((await post(at('wecom-key-2'), msg)).errcode).toBe(0); // per key
        await sleep(6_500); // one simulated minute at timeScale 0.1
        expect((await post(at('wecom-key-1'), msg)).errcode).toBe(0);
      } finally {
        await slow.stop();
      }
    });
  });

  describe('DingTalk', () => {
    const secret = TEST_ROBOTS.dingtalk['ding-token-1'];
    const url = (query = '') => `${carrier.urls().dingtalk('ding-token-1')}${query}`;
    const text = {
      msgtype: 'text',
      text: { content: '@13800000002 请确认橙色预警' },
      at: { atMobiles: ['13800000002'], isAtAll: false },
    };

    it('accepts a correctly signed message and records at.atMobiles', async () => {
      expect(await post(url(dingTalkQuery(secret)), text)).toEqual({ errcode: 0, errmsg: 'ok' });
      const [event] = carrier.events({ channel: 'dingtalk', type: 'robot.message' });
      expect(event.data).toMatchObject({
        msgtype: 'text',
        mentions: { mobiles: ['13800000002'], all: false },
      });
    });

    it('refuses a wrong signature, a stale timestamp, a sign sent without URL-encoding and an unknown token', async () => {
      expect(await post(url(dingTalkQuery('wrong-secret')), text)).toEqual({
        errcode: 310000,
        errmsg: 'sign not match',
      });
      const twoHoursAgo = Date.now() - 2 * 3600_000;
      expect(await post(url(dingTalkQuery(secret, twoHoursAgo)), text)).toEqual({
        errcode: 310000,
        errmsg: 'invalid timestamp',
      });
      expect((await post(url(), text)).errcode).toBe(310000);

      // A base64 sign with '+' must be URL-encoded, or DingTalk reads a space.
      let ts = Date.now();
      let sign = '';
      while (!sign.includes('+')) {
        ts += 1;
        sign = createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
      }
      expect((await post(url(`&timestamp=${ts}&sign=${sign}`), text)).errcode).toBe(310000);
      expect(
        (await post(url(`&timestamp=${ts}&sign=${encodeURIComponent(sign)}`), text)).errcode,
      ).toBe(0);

      const unknown = `${carrier.urls().dingtalk('nope')}${dingTalkQuery(secret)}`;
      expect((await post(unknown, text)).errcode).toBe(300005);
    });

    it('accepts an unsigned message for a robot without signing', async () => {
      const res = await post(carrier.urls().dingtalk('ding-token-open'), {
        msgtype: 'markdown',
        markdown: { title: '预警', text: '### 预警\n[确认](http://gw.local/a)' },
      });
      expect(res.errcode).toBe(0);
      expect(carrier.events({ type: 'robot.message' })[0].data.links).toEqual([
        'http://gw.local/a',
      ]);
    });

    it('throttles a robot for 10 minutes after more than 20 messages in a minute (130101)', async () => {
      // timeScale 0.1 (a minute is 6 s, the block 60 s): the burst surely falls in one minute.
      const slow = await startTestSandbox({ timeScale: 0.1 });
      try {
        const at = (query: string) => `${slow.urls().dingtalk('ding-token-1')}${query}`;
        const burst = await Promise.all(
          Array.from({ length: 21 }, () => post(at(dingTalkQuery(secret)), text)),
        );
        expect(burst.filter((r) => r.errcode === 0)).toHaveLength(20);
        expect(burst.filter((r) => r.errcode !== 0)).toEqual([
          { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' },
        ]);
        await sleep(6_500); // the minute has passed (timeScale 0.1), the 10-minute block has not
        expect((await post(at(dingTalkQuery(secret)), text)).errcode).toBe(130101);
        expect((await post(slow.urls().dingtalk('ding-token-open'), text)).errcode).toBe(0);
      } finally {
        await slow.stop();
      }
    });
  });

  describe('Feishu', () => {
    const secret = TEST_ROBOTS.feishu['feishu-token-1'];
    const url = (token = 'feishu-token-1') => carrier.urls().feishu(token);

    it('accepts a signed message and records <at> mentions and links', async () => {
      const res = await post(url(), {
        ...feishuSigned(secret),
        msg_type: 'text',
        content: {
          text: '<at user_id="ou_123">王五</at> 橙色预警，请点击确认 https://gw.local/ack/f1',
        },
      });
      expect(res).toMatchObject({ code: 0, msg: 'success' });
      expect(carrier.events({ channel: 'feishu', type: 'robot.message' })[0].data).toMatchObject({
        msgtype: 'text',
        mentions: { userIds: ['ou_123'], all: false },
        links: ['https://gw.local/ack/f1'],
      });
    });

    it('reads mentions and links in a post message', async () => {
      const res = await post(url(), {
        ...feishuSigned(secret),
        msg_type: 'post',
        content: {
          post: {
            zh_cn: {
              title: '橙色预警',
              content: [
                [
                  { tag: 'at', user_id: 'all' },
                  { tag: 'a', text: '确认', href: 'https://gw.local/ack/p' },
                ],
              ],
            },
          },
        },
      });
      expect(res.code).toBe(0);
      expect(carrier.events({ type: 'robot.message' })[0].data).toMatchObject({
        mentions: { all: true },
        links: ['https://gw.local/ack/p'],
      });
    });

    it('refuses a bad signature or an old timestamp (19021) and an unknown token (19001)', async () => {
      const msg = { msg_type: 'text', content: { text: '预警' } };
      expect(await post(url(), { ...feishuSigned('wrong'), ...msg })).toMatchObject({
        code: 19021,
      });
      const old = Math.floor(Date.now() / 1000) - 2 * 3600;
      expect(await post(url(), { ...feishuSigned(secret, old), ...msg })).toMatchObject({
        code: 19021,
      });
      expect(await post(url(), msg)).toMatchObject({ code: 19021 });
      expect(await post(url('nope'), msg)).toMatchObject({ code: 19001 });
      expect(await post(url('feishu-token-open'), msg)).toMatchObject({ code: 0 });
      expect(await post(url(), 'not json')).toMatchObject({ code: 9499 });
    });
  });

  describe('Feishu frequency limits (timeScale 0.1: a second is 100 ms, a minute 6 s)', () => {
    let slow: SandboxCarrier;
    beforeEach(async () => {
      slow = await startTestSandbox({ timeScale: 0.1 });
    });
    afterEach(async () => {
      await slow.stop();
    });

    const send = () =>
      post(slow.urls().feishu('feishu-token-open'), {
        msg_type: 'text',
        content: { text: '预警' },
      });

    it('allows 5 a second (11232 beyond)', async () => {
      // In real time (timeScale 1), so that six concurrent requests surely fall in one second.
      const realTime = await startTestSandbox({ timeScale: 1 });
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          post(realTime.urls().feishu('feishu-token-open'), {
            msg_type: 'text',
            content: { text: '预警' },
          }),
        ),
      ).finally(() => realTime.stop());
      expect(results.filter((r) => r.code === 0)).toHaveLength(5);
      expect(results.filter((r) => r.code === 11232)).toHaveLength(1);
    });

    it('allows 100 a minute (11232 beyond)', async () => {
      let ok = 0;
      for (let batch = 0; batch < 20; batch++) {
        const results = await Promise.all(Array.from({ length: 5 }, send));
        ok += results.filter((r) => r.code === 0).length;
        await sleep(110);
      }
      expect(ok).toBe(100);
      expect((await send()).code).toBe(11232);
    });
  });
});
