import { XMLParser } from 'fast-xml-parser';
import {
  callLanguageFor,
  gatherActionUrl,
  gatherOutcome,
  gatherReplyTwiml,
  gatherRoundOf,
  warningCallTwiml,
  type WarningCallScripts,
} from './twiml';

const SCRIPTS: WarningCallScripts = {
  script: '紧急预警。按1确认收到，按2请求支援。',
  reprompt: '请按1确认收到，按2请求支援。',
  thanks: '已确认，谢谢。',
  helpAcknowledged: '已收到求助。',
};
const GATHER = 'https://gw.example.cn/webhooks/twilio/voice/3f1c/gather';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  isArray: (name) => name === 'Say',
});
type Doc = {
  Response: {
    Gather?: { Say: { '#text': string; language: string }[]; [attr: string]: unknown };
    Say?: { '#text': string }[];
    Hangup?: unknown;
  };
};
const parse = (xml: string) => parser.parse(xml) as Doc;

describe('warning call TwiML', () => {
  it('round 1: a DTMF Gather of one key wrapping the Chinese script, posting to the gather URL even without a key', () => {
    const doc = parse(warningCallTwiml({ scripts: SCRIPTS, gatherUrl: GATHER }));
    const gather = doc.Response.Gather!;
    expect(gather).toMatchObject({
      input: 'dtmf',
      numDigits: '1',
      action: `${GATHER}?round=1`,
      method: 'POST',
      timeout: '8',
      actionOnEmptyResult: 'true',
    });
    expect(gather.Say).toEqual([{ '#text': SCRIPTS.script, language: 'zh-CN' }]);
  });

  it('English calls say en-US', () => {
    const doc = parse(
      warningCallTwiml({
        scripts: SCRIPTS,
        gatherUrl: GATHER,
        language: callLanguageFor('en'),
        keyTimeoutSec: 5,
      }),
    );
    expect(doc.Response.Gather!.Say[0].language).toBe('en-US');
    expect(doc.Response.Gather!.timeout).toBe('5');
  });

  it('key 1 → thanks and hang up; key 2 → help acknowledged and hang up', () => {
    const one = gatherReplyTwiml({ scripts: SCRIPTS, gatherUrl: GATHER, digits: '1', round: 1 });
    expect(one).toMatchObject({ outcome: 'confirmed', final: true, heard: false });
    expect(parse(one.twiml).Response.Say![0]['#text']).toBe(SCRIPTS.thanks);
    expect(parse(one.twiml).Response).toHaveProperty('Hangup');
    const two = gatherReplyTwiml({ scripts: SCRIPTS, gatherUrl: GATHER, digits: '2', round: 2 });
    expect(two).toMatchObject({ outcome: 'help_requested', final: true });
    expect(parse(two.twiml).Response.Say![0]['#text']).toBe(SCRIPTS.helpAcknowledged);
  });

  it('no key after round 1 → heard; round 2 plays the reprompt then the script again', () => {
    const reply = gatherReplyTwiml({ scripts: SCRIPTS, gatherUrl: GATHER, digits: '', round: 1 });
    expect(reply).toMatchObject({ outcome: 'no_key', heard: true, final: false });
    const gather = parse(reply.twiml).Response.Gather!;
    expect(gather.action).toBe(`${GATHER}?round=2`);
    expect(gather.Say.map((s) => s['#text'])).toEqual([SCRIPTS.reprompt, SCRIPTS.script]);
  });

  it('another key → the reprompt round; after the last round → hang up', () => {
    const other = gatherReplyTwiml({ scripts: SCRIPTS, gatherUrl: GATHER, digits: '9', round: 1 });
    expect(other).toMatchObject({ outcome: 'other_key', heard: false, final: false });
    expect(parse(other.twiml).Response.Gather!.Say[0]['#text']).toBe(SCRIPTS.reprompt);
    const last = gatherReplyTwiml({ scripts: SCRIPTS, gatherUrl: GATHER, digits: '', round: 2 });
    expect(last).toMatchObject({ outcome: 'no_key', heard: true, final: true });
    expect(parse(last.twiml).Response).toHaveProperty('Hangup');
    expect(parse(last.twiml).Response.Gather).toBeUndefined();
  });

  it('rounds are configurable', () => {
    expect(
      gatherReplyTwiml({ scripts: SCRIPTS, gatherUrl: GATHER, digits: '', round: 2, rounds: 3 })
        .final,
    ).toBe(false);
    expect(
      gatherReplyTwiml({ scripts: SCRIPTS, gatherUrl: GATHER, digits: '', round: 1, rounds: 1 })
        .final,
    ).toBe(true);
  });

  it('escapes text and keeps the gather URL query', () => {
    const xml = warningCallTwiml({
      scripts: { ...SCRIPTS, script: 'A & <B>' },
      gatherUrl: `${GATHER}?t=x`,
    });
    expect(xml).toContain('A &amp; &lt;B&gt;');
    expect(parse(xml).Response.Gather!.action).toBe(`${GATHER}?t=x&round=1`);
  });

  it('reads the round back from a request URL, relative or absolute', () => {
    expect(gatherRoundOf('/webhooks/twilio/voice/3f1c/gather?round=2')).toBe(2);
    expect(gatherRoundOf(gatherActionUrl(GATHER, 3))).toBe(3);
    expect(gatherRoundOf('/gather')).toBe(1);
    expect(gatherRoundOf('/gather?round=abc')).toBe(1);
    expect(gatherOutcome(' 1 ')).toBe('confirmed');
    expect(gatherOutcome('*')).toBe('other_key');
  });
});
