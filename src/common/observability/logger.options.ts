import type { Params } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';

/**
 * Structured JSON logs (pino). Secrets and phone numbers must never reach info-level logs:
 * auth headers and provider signatures are redacted, and request URLs are logged without their
 * query strings (confirmation links and robot keys travel there).
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
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url.split('?')[0],
        }),
      },
    },
  };
}
