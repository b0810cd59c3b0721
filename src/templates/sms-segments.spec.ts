import { analyzeSms, countSmsSegments, fitToSegment, isGsm7, SMS_LIMITS } from './sms-segments';

const zh = (n: number): string => '预'.repeat(n);
const en = (n: number): string => 'a'.repeat(n);

describe('countSmsSegments', () => {
  it('UCS-2: 70 characters including the signature is one message, then 67 per segment', () => {
    const sig = '【汶川县应急】';
    expect(countSmsSegments(sig + zh(70 - 7))).toBe(1);
    expect(countSmsSegments(sig + zh(71 - 7))).toBe(2);
    expect(countSmsSegments(zh(134))).toBe(2);
    expect(countSmsSegments(zh(135))).toBe(3);
    expect(countSmsSegments(zh(201))).toBe(3);
    expect(countSmsSegments(zh(202))).toBe(4);
    expect(analyzeSms(zh(70))).toMatchObject({
      encoding: 'UCS-2',
      units: 70,
      segments: 1,
      remaining: 0,
    });
  });

  it('GSM-7 (plain English): 160 / 153', () => {
    expect(countSmsSegments(en(160))).toBe(1);
    expect(countSmsSegments(en(161))).toBe(2);
    expect(countSmsSegments(en(306))).toBe(2);
    expect(countSmsSegments(en(307))).toBe(3);
    expect(analyzeSms(en(10))).toMatchObject({
      encoding: 'GSM-7',
      singleLimit: 160,
      segmentLimit: 153,
    });
  });

  it('GSM-7 extension characters take two septets and are not split across segments', () => {
    expect(analyzeSms('{'.repeat(80)).units).toBe(160);
    expect(countSmsSegments('{'.repeat(80))).toBe(1);
    expect(countSmsSegments(`${en(152)}€${en(10)}`)).toBe(2); // € moves whole to segment 2
    expect(analyzeSms(`${en(152)}€${en(10)}`).remaining).toBe(153 - 12);
  });

  it('one non-GSM character (Chinese, 【】, backtick, curly quote) makes the whole text UCS-2', () => {
    expect(isGsm7('Reply 1 to confirm')).toBe(true);
    expect(isGsm7('【Wenchuan EM】Reply 1')).toBe(false);
    expect(isGsm7('use `code`')).toBe(false);
    expect(countSmsSegments(`${en(100)}’`)).toBe(2); // 101 UCS-2 chars
    expect(countSmsSegments(`【EM】${en(66)}`)).toBe(1);
    expect(countSmsSegments(`【EM】${en(67)}`)).toBe(2);
  });

  it('counts code points by default; utf16 counts astral characters (𠮷) as two', () => {
    const text = `${zh(69)}𠮷`;
    expect(analyzeSms(text).units).toBe(70);
    expect(countSmsSegments(text)).toBe(1);
    expect(analyzeSms(text, { unit: 'utf16' }).units).toBe(71);
    expect(countSmsSegments(text, { unit: 'utf16' })).toBe(2);
    // a surrogate pair is never split: 66 + pair does not fit the first 67-unit segment
    expect(countSmsSegments(`${zh(66)}𠮷${zh(66)}`, { unit: 'utf16' })).toBe(3);
  });

  it('providers that bill everything as UCS-2', () => {
    expect(countSmsSegments(en(100), { allowGsm7: false })).toBe(2);
    expect(SMS_LIMITS['UCS-2']).toEqual({ single: 70, segment: 67 });
  });

  it('empty text is no message', () => {
    expect(countSmsSegments('')).toBe(0);
  });
});

describe('fitToSegment', () => {
  it('applies richer wordings in priority order while the text fits', () => {
    const r = fitToSegment([
      '【测试】',
      { text: '红色预警：', richer: [{ text: '红色（一级）预警：', priority: 9 }] },
      {
        text: '甲村等',
        richer: [
          { text: '甲村、乙村等', priority: 5 },
          { text: zh(60), priority: 6 },
        ],
      },
      { text: '', richer: [{ text: '回复1确认', priority: 2 }] },
    ]);
    expect(r.fits).toBe(true);
    expect(r.text).toBe('【测试】红色（一级）预警：甲村、乙村等回复1确认');
    expect(r.chosen).toEqual([-1, 0, 0, 0]);
  });

  it('reports when even the minimal wording does not fit and cuts nothing', () => {
    const r = fitToSegment([`【${zh(80)}】`, '红色预警']);
    expect(r.fits).toBe(false);
    expect(r.text).toBe(`【${zh(80)}】红色预警`);
  });

  it('uses poorer wordings, least important first, only when the minimal wording is too long', () => {
    const parts = (sig: string) => [
      `【${sig}】`,
      '红色预警：',
      { text: '甲乙丙丁村等', poorer: [{ text: '甲乙…', priority: 20 }] },
      { text: '预计22时，', poorer: [{ text: '', priority: 30 }] },
      '请撤离。',
      { text: '', richer: [{ text: '回复1确认', priority: 2 }] },
    ];
    expect(fitToSegment(parts('县')).text).toBe(
      '【县】红色预警：甲乙丙丁村等预计22时，请撤离。回复1确认',
    );
    expect(fitToSegment(parts('很'.repeat(47))).text).toBe(
      `【${'很'.repeat(47)}】红色预警：甲乙丙丁村等预计22时，请撤离。`,
    );
    expect(fitToSegment(parts('很'.repeat(48))).text).toBe(
      `【${'很'.repeat(48)}】红色预警：甲乙丙丁村等请撤离。`,
    );
    expect(fitToSegment(parts('很'.repeat(54))).text).toBe(
      `【${'很'.repeat(54)}】红色预警：甲乙…请撤离。`,
    );
    const r = fitToSegment(parts('很'.repeat(60)));
    expect(r.fits).toBe(false);
    expect(r.text.startsWith(`【${'很'.repeat(60)}】红色预警：`)).toBe(true);
  });

  it('gives back a wording given up early when a later one made the room', () => {
    // The place is cut first (least important) but that is not enough; once the time is given
    // up too, the place fits whole again and is given back.
    const r = fitToSegment([
      '【县】',
      { text: '甲'.repeat(60), poorer: [{ text: '甲'.repeat(58), priority: 30 }] },
      { text: '乙'.repeat(10), poorer: [{ text: '', priority: 20 }] },
    ]);
    expect(r.text).toBe(`【县】${'甲'.repeat(60)}`);
    expect(r.chosen).toEqual([-1, -1, -2]);
  });

  it('cuts a plain string with an ellipsis, never the signature', () => {
    const r = fitToSegment(`【汶川县应急】${zh(100)}`);
    expect(r.fits).toBe(true);
    expect(r.text.startsWith('【汶川县应急】')).toBe(true);
    expect(r.text.endsWith('…')).toBe(true);
    expect(Array.from(r.text)).toHaveLength(70);
    expect(fitToSegment(en(200)).text).toBe(`${en(157)}...`);
    expect(fitToSegment('short').text).toBe('short');
  });

  it('supports more than one segment', () => {
    const r = fitToSegment(zh(200), { maxSegments: 2 });
    expect(r.segments).toBe(2);
    expect(Array.from(r.text)).toHaveLength(134);
  });
});
