import nodemailer from 'nodemailer';
import type { CapturedEmail } from './smtp-catcher';
import type { SandboxCarrier } from './sandbox-carrier';
import { startTestSandbox } from './testing/fixtures';

describe('sandbox carrier: SMTP catcher', () => {
  let carrier: SandboxCarrier;

  beforeEach(async () => {
    carrier = await startTestSandbox();
  });

  afterEach(async () => {
    await carrier.stop();
  });

  const transport = (auth?: { user: string; pass: string }) =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port: carrier.smtpPort,
      secure: false,
      ...(auth ? { auth } : {}),
    });

  it('captures a message sent with nodemailer, decoding a Chinese subject and body', async () => {
    const info = await transport().sendMail({
      from: '"县应急管理局" <alerts@gw.example>',
      to: 'zhang@example.cn, li@example.cn',
      subject: '【橙色预警】地质灾害气象风险预警',
      text: '请确认收到：https://gw.example/ack/abc?sig=xyz\n谢谢。',
      html: '<p>请<a href="https://gw.example/ack/abc?sig=xyz">确认收到</a></p>',
    });
    expect(info.accepted).toEqual(['zhang@example.cn', 'li@example.cn']);

    const [mail] = carrier.sentEmails();
    expect(mail.envelope).toEqual({
      from: 'alerts@gw.example',
      to: ['zhang@example.cn', 'li@example.cn'],
    });
    expect(mail.subject).toBe('【橙色预警】地质灾害气象风险预警');
    expect(mail.from).toContain('县应急管理局');
    expect(mail.text).toBe('请确认收到：https://gw.example/ack/abc?sig=xyz\n谢谢。');
    expect(mail.html).toContain('确认收到');
    expect(mail.links).toEqual(['https://gw.example/ack/abc?sig=xyz']);
    expect(mail.messageId).toBe(info.messageId);
    expect(mail.raw).toContain('Subject:');

    const events = carrier.events({ type: 'email.received' });
    expect(events.map((e) => e.to)).toEqual(['zhang@example.cn', 'li@example.cn']);

    const listed = (await (await fetch(carrier.urls().mail)).json()) as CapturedEmail[];
    expect(listed).toHaveLength(1);
    expect(listed[0].subject).toBe(mail.subject);
  });

  it('accepts any credentials when the client authenticates', async () => {
    await transport({ user: 'gateway', pass: 'anything' }).sendMail({
      from: 'a@gw.example',
      to: 'b@example.cn',
      subject: 'plain',
      text: 'hello',
    });
    expect(carrier.sentEmails()[0]).toMatchObject({ subject: 'plain', text: 'hello' });
  });
});
