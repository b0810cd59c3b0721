import nodemailer, { type Transporter } from 'nodemailer';
import type { EmailChannel, EmailSendRequest } from '../channel.interface';
import { ChannelError, type SendReceipt } from '../channel.types';

export interface SmtpEmailOptions {
  /** SMTP_URL: smtp://user:pass@host:port or smtps://… */
  smtpUrl: string;
  /** MAIL_FROM. */
  from: string;
  /** Pooled connections kept open (default 3). */
  maxConnections?: number;
  /** Connect / greeting timeout in ms (default 10 s). */
  connectTimeoutMs?: number;
}

type SmtpFailure = Error & { code?: string; responseCode?: number; response?: string };

/**
 * SMTP failures as dispatch sees them: a 5xx reply (unknown mailbox, rejected content, failed
 * authentication) is permanent; a 4xx reply (greylisting, mailbox busy) and any connection
 * trouble (refused, reset, timeout, TLS) are transient.
 */
export function smtpChannelError(err: unknown, to: string): ChannelError {
  if (err instanceof ChannelError) return err;
  const e = err as SmtpFailure;
  const code = e?.code;
  const reply = typeof e?.responseCode === 'number' ? e.responseCode : undefined;
  // The server's reply line can quote the address; it never carries our credentials.
  const detail = e?.response ? e.response.split('\n')[0].slice(0, 200) : (code ?? 'no answer');
  if (reply !== undefined && reply >= 500) {
    return new ChannelError(
      'permanent',
      String(reply),
      `SMTP refused the e-mail to ${to}: ${detail}`,
    );
  }
  if (reply !== undefined && reply >= 400) {
    return new ChannelError(
      'transient',
      String(reply),
      `SMTP deferred the e-mail to ${to}: ${detail}`,
    );
  }
  if (code === 'EENVELOPE' || code === 'EMESSAGE' || code === 'ECONFIG') {
    // No reply code: an address nodemailer refused itself (malformed) or a bad message.
    return new ChannelError('permanent', code, `e-mail to ${to} refused before sending (${code})`);
  }
  return new ChannelError(
    'transient',
    code,
    `SMTP server unavailable for the e-mail to ${to} (${detail})`,
  );
}

/** E-mail over SMTP with a pool of kept-alive connections (nodemailer). */
export class SmtpEmailChannel implements EmailChannel {
  readonly kind = 'email' as const;
  private readonly transport: Transporter;

  constructor(options: SmtpEmailOptions) {
    const timeout = options.connectTimeoutMs ?? 10_000;
    this.transport = nodemailer.createTransport(
      {
        pool: true,
        url: options.smtpUrl,
        maxConnections: options.maxConnections ?? 3,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: 60_000,
        logger: false,
      },
      { from: options.from },
    );
  }

  /** Sends one e-mail; resolves with the Message-ID as the provider id. */
  async send(request: EmailSendRequest): Promise<SendReceipt> {
    const to = Array.isArray(request.to) ? request.to.join(', ') : request.to;
    if (!to.trim()) throw new ChannelError('permanent', 'no_recipient', 'e-mail without recipient');
    try {
      const info = (await this.transport.sendMail({
        to: request.to,
        subject: request.subject,
        text: request.text,
        ...(request.html !== undefined ? { html: request.html } : {}),
        ...(request.headers ? { headers: request.headers } : {}),
      })) as { messageId?: string; rejected?: unknown[] };
      if (!info.messageId) {
        throw new ChannelError(
          'transient',
          undefined,
          `SMTP gave no message id for the e-mail to ${to}`,
        );
      }
      return { providerId: info.messageId, status: 'accepted' };
    } catch (err) {
      throw smtpChannelError(err, to);
    }
  }

  /** Closes the pooled connections. */
  close(): void {
    this.transport.close();
  }

  onModuleDestroy(): void {
    this.close();
  }
}
