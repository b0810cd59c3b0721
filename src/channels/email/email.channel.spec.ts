import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SandboxCarrier } from '../../sandbox/sandbox-carrier';
import { startTestSandbox } from '../../sandbox/testing/fixtures';
import { ChannelError } from '../channel.types';
import { closedPort } from '../testing/stub-provider';
import { SmtpEmailChannel } from './email.channel';

const FROM = '汶川县应急预警 <alerts@example.cn>';

/** A real SMTP server that refuses every recipient with `code`. */
async function refusingSmtp(
  code: number,
  message: string,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    hideSTARTTLS: true,
    logger: false,
    onRcptTo: (_address, _session, callback) => {
      const err = new Error(message) as Error & { responseCode: number };
      err.responseCode = code;
      callback(err);
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return { port, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('SmtpEmailChannel', () => {
  let carrier: SandboxCarrier;
  const opened: SmtpEmailChannel[] = [];
  const channel = (smtpUrl: string) => {
    const c = new SmtpEmailChannel({ smtpUrl, from: FROM, connectTimeoutMs: 2_000 });
    opened.push(c);
    return c;
  };

  beforeAll(async () => {
    carrier = await startTestSandbox();
  });

  afterAll(async () => {
    for (const c of opened) c.close();
    await carrier.stop();
  });

  it('delivers to the sandbox SMTP catcher; the Message-ID is the provider id', async () => {
    const { host, port } = carrier.urls().smtp;
    const email = channel(`smtp://${host}:${port}`);
    const receipt = await email.send({
      to: 'zhang.san@example.cn',
      subject: '【红色预警】映秀镇滑坡临灾预警',
      text: '请立即撤离。确认：https://gw.example.cn/c/abc',
      html: '<p>请立即撤离。<a href="https://gw.example.cn/c/abc">确认收到</a></p>',
      headers: { 'X-Warning-Id': '51322141600000_20240710203000_1' },
    });
    expect(receipt.status).toBe('accepted');
    expect(receipt.providerId).toMatch(/^<.+@.+>$/);

    const mail = carrier.sentEmails().find((m) => m.messageId === receipt.providerId);
    expect(mail).toBeDefined();
    expect(mail).toMatchObject({
      subject: '【红色预警】映秀镇滑坡临灾预警',
      envelope: { from: 'alerts@example.cn', to: ['zhang.san@example.cn'] },
    });
    expect(mail?.headers['x-warning-id']).toBe('51322141600000_20240710203000_1');
    expect(mail?.text).toContain('请立即撤离');
    expect(mail?.links).toContain('https://gw.example.cn/c/abc');

    // The pool keeps the connection: a second mail goes out on it.
    const second = await email.send({
      to: ['li.si@example.cn', 'wang.wu@example.cn'],
      subject: 's',
      text: 't',
    });
    expect(
      carrier.sentEmails().find((m) => m.messageId === second.providerId)?.envelope.to,
    ).toEqual(['li.si@example.cn', 'wang.wu@example.cn']);
  });

  it('maps a 5xx refusal to permanent', async () => {
    const smtp = await refusingSmtp(550, 'No such user');
    try {
      const err = (await channel(`smtp://127.0.0.1:${smtp.port}`)
        .send({ to: 'nobody@example.cn', subject: 's', text: 't' })
        .catch((e: unknown) => e)) as ChannelError;
      expect(err).toBeInstanceOf(ChannelError);
      expect(err).toMatchObject({ kind: 'permanent', code: '550' });
    } finally {
      await smtp.stop();
    }
  });

  it('maps a 4xx deferral to transient', async () => {
    const smtp = await refusingSmtp(451, 'Try again later');
    try {
      const err = (await channel(`smtp://127.0.0.1:${smtp.port}`)
        .send({ to: 'busy@example.cn', subject: 's', text: 't' })
        .catch((e: unknown) => e)) as ChannelError;
      expect(err).toMatchObject({ kind: 'transient', code: '451' });
    } finally {
      await smtp.stop();
    }
  });

  it('maps an unreachable server to transient', async () => {
    const port = await closedPort();
    const err = (await channel(`smtp://127.0.0.1:${port}`)
      .send({ to: 'a@example.cn', subject: 's', text: 't' })
      .catch((e: unknown) => e)) as ChannelError;
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.kind).toBe('transient');
  });
});
