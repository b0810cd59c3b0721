import pino from 'pino';
import { loggerOptions } from './logger.options';

/** The gateway's pino options, writing to memory. */
function capture() {
  const lines: string[] = [];
  const { autoLogging: _ignored, ...options } = loggerOptions('info').pinoHttp as Record<
    string,
    unknown
  >;
  const logger = pino(options as pino.LoggerOptions, { write: (s: string) => lines.push(s) });
  return { logger, text: () => lines.join('') };
}

describe('log lines', () => {
  it('carry no phone number, in the message, the fields or a failed query error', () => {
    const { logger, text } = capture();
    class QueryFailedError extends Error {}
    const failed = Object.assign(new QueryFailedError('duplicate key value (+8613800000004)'), {
      query: 'INSERT INTO contact_points (value) VALUES ($1)',
      parameters: ['+8613800000004'],
    });
    logger.error(
      { err: failed, attemptId: '36350843-b0dd-4585-b2f2-d7dd6b530b8a' },
      'insert failed',
    );
    logger.warn({ to: '+8613800000005' }, 'Twilio refused the SMS to +8613800000006');
    logger.info('caller 028 8765 4321 hung up');
    const out = text();
    expect(out).not.toMatch(/13800000004|13800000005|13800000006|8765 4321/);
    expect(out).toContain('36350843-b0dd-4585-b2f2-d7dd6b530b8a');
    expect(out).toContain('+86138****0006');
    expect(out).toContain('insert failed');
    // The error keeps its type.
    expect(JSON.parse(out.split('\n')[0]).err).toMatchObject({ type: 'QueryFailedError' });
  });

  it('logs an error given as a string (a worker passes the masked message) as one message', () => {
    const { logger, text } = capture();
    logger.warn(
      { err: 'Worker failed to send to +8613800000004', queue: 'send-sms' },
      'job failed',
    );
    const line = JSON.parse(text());
    expect(line.err).toEqual({ message: 'Worker failed to send to +86138****0004' });
    expect(line.err).not.toHaveProperty('0');
  });

  it('redacts authorization headers and drops query strings from request URLs', () => {
    const { logger, text } = capture();
    logger.info(
      {
        req: {
          id: 1,
          method: 'POST',
          url: '/c/abc?sig=secret',
          headers: { authorization: 'Bearer wg_x' },
        },
      },
      'request',
    );
    const out = JSON.parse(text());
    expect(out.req).toEqual({ id: 1, method: 'POST', url: '/c/abc' });
  });
});
