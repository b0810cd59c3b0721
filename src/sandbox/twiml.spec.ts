import twilio from 'twilio';
import { countSegments } from './sms-segments';
import { loopCount, messageBodies, parseTwiml, playMs, speechMs, TwimlError } from './twiml';
import { decodeEncodedWords, parseMail } from './mime-lite';

describe('TwiML parsing and timing', () => {
  it('keeps verbs in order with attributes, nested verbs and decoded text', () => {
    const r = new twilio.twiml.VoiceResponse();
    const g = r.gather({ numDigits: 1, action: '/a?x=1&y=2', timeout: 3 });
    g.say({ language: 'zh-CN' }, '预警 & <测试>');
    g.pause({ length: 2 });
    r.redirect({ method: 'GET' }, '/next');
    r.hangup();
    const root = parseTwiml(r.toString());
    expect(root.children.map((n) => n.name)).toEqual(['Gather', 'Redirect', 'Hangup']);
    const [gather, redirect] = root.children;
    expect(gather.attrs).toEqual({ numDigits: '1', action: '/a?x=1&y=2', timeout: '3' });
    expect(gather.children.map((n) => n.name)).toEqual(['Say', 'Pause']);
    expect(gather.children[0]).toMatchObject({
      text: '预警 & <测试>',
      attrs: { language: 'zh-CN' },
    });
    expect(redirect).toMatchObject({ text: '/next', attrs: { method: 'GET' } });
  });

  it('flattens SSML inside <Say>', () => {
    const root = parseTwiml(
      '<Response><Say>请注意<break time="1s"/><prosody rate="slow">立即转移</prosody></Say></Response>',
    );
    expect(root.children[0].text).toBe('请注意 立即转移');
  });

  it('refuses what Twilio refuses: not XML (12100), not a <Response> (12200)', () => {
    expect(() => parseTwiml('<Response><Say>hi</Response>')).toThrow(TwimlError);
    expect(() => parseTwiml('')).toThrow(expect.objectContaining({ code: 12100 }));
    expect(() => parseTwiml('<html><body>error</body></html>')).toThrow(
      expect.objectContaining({ code: 12200 }),
    );
  });

  it('times speech at about 4 Chinese characters a second, loops and pauses', () => {
    expect(speechMs('地质灾害预警')).toBe(1500);
    const say = parseTwiml(
      '<Response><Say loop="3">地质灾害预警</Say><Pause length="4"/><Pause/></Response>',
    );
    expect(playMs(say.children[0])).toBe(4500);
    expect(playMs(say.children[1])).toBe(4000);
    expect(playMs(say.children[2])).toBe(1000);
    expect(loopCount({ loop: '0' })).toBe(20);
  });

  it('reads the bodies of <Message> replies', () => {
    const root = parseTwiml(
      '<Response><Message>好的</Message><Message><Body>收到</Body></Message></Response>',
    );
    expect(messageBodies(root)).toEqual(['好的', '收到']);
  });
});

describe('SMS segments', () => {
  it('counts GSM-7 and UCS-2 as carriers do', () => {
    expect(countSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(countSegments('a'.repeat(161)).segments).toBe(2);
    expect(countSegments('a'.repeat(306)).segments).toBe(2);
    expect(countSegments('a'.repeat(307)).segments).toBe(3);
    expect(countSegments('{}'.repeat(80))).toMatchObject({ units: 320, segments: 3 });
    expect(countSegments('【预警】'.padEnd(70, '测'))).toEqual({
      encoding: 'UCS-2',
      units: 70,
      segments: 1,
    });
    expect(countSegments('测'.repeat(134)).segments).toBe(2);
    expect(countSegments('测'.repeat(135)).segments).toBe(3);
  });
});

describe('mime-lite', () => {
  it('decodes RFC 2047 words, joining adjacent ones', () => {
    expect(decodeEncodedWords('=?UTF-8?B?5Zyw6LSo?= =?UTF-8?Q?=E7=81=BE=E5=AE=B3?= notice')).toBe(
      '地质灾害 notice',
    );
  });

  it('reads a multipart message with quoted-printable and base64 parts', () => {
    const raw = [
      'Subject: =?UTF-8?B?6aKE6K2m?=',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '=E9=A2=84=E8=AD=A6 https://x.example/a=3Db',
      '--b1',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<b>预警</b>').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n');
    const mail = parseMail(Buffer.from(raw, 'utf8'));
    expect(mail.headers.subject).toBe('预警');
    expect(mail.text).toBe('预警 https://x.example/a=b');
    expect(mail.html).toBe('<b>预警</b>');
  });
});
