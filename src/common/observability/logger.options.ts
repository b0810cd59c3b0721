import type { Params } from 'nestjs-pino';
import { stdSerializers } from 'pino';
import type { IncomingMessage } from 'node:http';
import { maskLogRecord, maskPhones } from './mask';

/**
 * Structured JSON logs (pino). Secrets and phone numbers must never reach info-level logs:
 * auth headers and provider signatures are redacted, request URLs are logged without their
 * query strings (confirmation links and robot keys travel there), and every line has its phone
 * numbers masked and SQL parameters dropped (a failed query's error carries them).
 */
export function loggerOptions(level: string): Params {
  return {
    pinoHttp: {
      level,
      autoLogging: {
        ignore: (req: IncomingMessage) => req.url === '/health' || req.url === '/metrics',
      },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-twilio-signature"]',
          'req.headers["x-broadcast-signature"]',
          '*.token',
          '*.secret',
          '*.authToken',
          '*.password',
        ],
        censor: '[redacted]',
      },
      hooks: {
        // The message itself (the record's fields go through formatters.log).
        logMethod(args: unknown[], method: (...a: unknown[]) => void) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? maskPhones(a) : a)),
          );
        },
      },
      formatters: {
        log: (record: Record<string, unknown>) => maskLogRecord(record) as Record<string, unknown>,
      },
      serializers: {
        // pino-http runs pino's own err serializer first; plain pino does not.
        // An error, or what a caller passed as one: a plain message stays one string (spreading a
        // string would log it character by character), anything else is kept as it is.
        err: (err: unknown) =>
          err instanceof Error
            ? maskLogRecord({ ...stdSerializers.err(err) })
            : typeof err === 'string'
              ? { message: maskPhones(err) }
              : maskLogRecord(err),
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url.split('?')[0],
        }),
      },
    },
  };
}
