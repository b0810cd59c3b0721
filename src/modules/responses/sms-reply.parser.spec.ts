import { normaliseSmsReply, parseSmsReply, parseTaskReply } from './sms-reply.parser';

describe('parseSmsReply', () => {
  it.each([
    '1',
    '１',
    ' 1 ',
    '1。',
    '１！',
    '收到',
    ' 收到 ',
    '收到。',
    '收到！',
    '确认',
    '【确认】',
    'OK',
    'ok',
    'Ok',
    'ＯＫ',
    'ｏｋ!',
    '\u3000收到\u3000',
    '1\n',
  ])('%j confirms', (body) => {
    expect(parseSmsReply(body)).toBe('confirm');
  });

  it.each(['2', '２', ' 2。', '2!'])('%j asks for help', (body) => {
    expect(parseSmsReply(body)).toBe('help');
  });

  it.each([
    '',
    '  ',
    '3',
    '12',
    '11',
    '好的',
    '确认收到了吗',
    '不确认',
    'okay',
    '1 2',
    '收 到',
    '?',
  ])('%j is ambiguous', (body) => {
    expect(parseSmsReply(body)).toBe('ambiguous');
  });

  it('normalises width, case and the edges only', () => {
    expect(normaliseSmsReply(' ＯＫ。 ')).toBe('ok');
    expect(normaliseSmsReply('收 到')).toBe('收 到');
  });
});

describe('task replies', () => {
  it('completes only on an explicit done, with or without the task number', () => {
    expect(parseTaskReply('1')).toEqual({ action: 'complete' });
    expect(parseTaskReply('1 23')).toEqual({ action: 'complete', number: 23 });
    expect(parseTaskReply('１＃２３')).toEqual({ action: 'complete', number: 23 });
    expect(parseTaskReply('完成 7')).toEqual({ action: 'complete', number: 7 });
    expect(parseTaskReply('2 23')).toEqual({ action: 'help', number: 23 });
  });

  it('takes 收到 / OK as an acknowledgement, not as done', () => {
    for (const t of ['收到', '收到！', 'OK', '确认'])
      expect(parseTaskReply(t)).toEqual({ action: 'ack' });
    expect(parseTaskReply('我在路上')).toEqual({ action: 'unclear' });
  });
});
