import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import type { EventLog } from './event-log';
import { parseMail } from './mime-lite';
import { extractLinks } from './robots';

export interface CapturedEmail {
  id: string;
  receivedAt: string;
  /** SMTP envelope: MAIL FROM and RCPT TO. */
  envelope: { from: string | null; to: string[] };
  /** Decoded headers (lower-cased names). */
  headers: Record<string, string>;
  from?: string;
  to?: string;
  cc?: string;
  subject?: string;
  messageId?: string;
  text?: string;
  html?: string;
  /** Links in the text and HTML bodies (confirmation links, for example). */
  links: string[];
  /** The message as received. */
  raw: string;
}

/**
 * An SMTP server that accepts every message (authentication optional, any credentials
 * accepted, no TLS) and keeps it for `sentEmails()` and `GET /sandbox/mail`.
 */
export class SmtpCatcher {
  private readonly mails: CapturedEmail[] = [];
  private server: SMTPServer | null = null;
  port = 0;

  constructor(
    private readonly log: EventLog,
    private readonly maxMails = 5_000,
  ) {}

  async start(port: number, host: string): Promise<void> {
    // Loaded on demand: only a running sandbox needs the SMTP server package.
    const { SMTPServer } = await import('smtp-server');
    const server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      hideSTARTTLS: true,
      logger: false,
      size: 25 * 1024 * 1024,
      closeTimeout: 500,
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', (err: Error) => callback(err));
        stream.on('end', () => {
          const from = session.envelope.mailFrom;
          this.capture(
            Buffer.concat(chunks),
            from ? from.address : null,
            session.envelope.rcptTo.map((r) => r.address),
          );
          callback(null);
        });
      },
    });
    server.on('error', () => undefined); // a client's broken connection is not our failure
    await new Promise<void>((resolve, reject) => {
      const net = server.listen(port, host, () => resolve());
      net.once('error', reject);
    });
    this.server = server;
    this.port = (server.server.address() as AddressInfo).port;
  }

  private capture(raw: Buffer, from: string | null, to: string[]): void {
    const parsed = parseMail(raw);
    const h = parsed.headers;
    const mail: CapturedEmail = {
      id: `mail_${randomBytes(8).toString('hex')}`,
      receivedAt: new Date().toISOString(),
      envelope: { from, to },
      headers: h,
      ...(h.from ? { from: h.from } : {}),
      ...(h.to ? { to: h.to } : {}),
      ...(h.cc ? { cc: h.cc } : {}),
      ...(h.subject ? { subject: h.subject } : {}),
      ...(h['message-id'] ? { messageId: h['message-id'] } : {}),
      ...(parsed.text !== undefined ? { text: parsed.text } : {}),
      ...(parsed.html !== undefined ? { html: parsed.html } : {}),
      links: extractLinks([parsed.text ?? '', parsed.html ?? '']),
      raw: raw.toString('utf8'),
    };
    this.mails.push(mail);
    if (this.mails.length > this.maxMails) this.mails.shift();
    for (const rcpt of to.length ? to : ['']) {
      this.log.record('email', 'email.received', {
        ref: mail.id,
        to: rcpt,
        data: { from, subject: mail.subject ?? null, links: mail.links },
      });
    }
  }

  list(): CapturedEmail[] {
    return this.mails.map((m) => ({ ...m, envelope: { ...m.envelope, to: [...m.envelope.to] } }));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
