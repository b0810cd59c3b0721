import { normaliseSmsReply, parseSmsReply } from './sms-reply.parser';

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
