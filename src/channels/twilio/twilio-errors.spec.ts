import twilio from 'twilio';
import { ChannelError } from '../channel.types';
import { twilioChannelError } from './twilio-errors';

const networkError = (code: string) => Object.assign(new Error(`socket: ${code}`), { code });

describe('twilioChannelError', () => {
  it.each(['ECONNABORTED', 'ECONNRESET', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'ERR_NETWORK'])(
    'takes %s for a request Twilio may have (unanswered, transient)',
    (code) => {
      const e = twilioChannelError(networkError(code), 'the SMS to +86…');
      expect(e).toMatchObject({ kind: 'transient', code, unanswered: true });
      expect(e.message).toBe(`Twilio did not answer the SMS to +86… (${code})`);
    },
  );

  it('takes an error without a code for unanswered as well: nothing says the request never left', () => {
    expect(twilioChannelError(new Error('socket hang up'), 'x')).toMatchObject({
      kind: 'transient',
      unanswered: true,
    });
  });

  it.each([
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ERR_SOCKET_CONNECTION_TIMEOUT',
  ])('takes %s for a request that never reached Twilio (transient, not unanswered)', (code) => {
    expect(twilioChannelError(networkError(code), 'x')).toMatchObject({
      kind: 'transient',
      code,
      unanswered: false,
    });
  });

  it('takes any HTTP answer for an answer: a 500 is transient, not unanswered', () => {
    const e = twilioChannelError(
      new twilio.RestException({
        statusCode: 500,
        body: { code: 20500, message: 'Internal Server Error' },
      }),
      'x',
    );
    expect(e).toMatchObject({ kind: 'transient', code: '20500', unanswered: false });
  });

  it('leaves a ChannelError as it is', () => {
    const given = new ChannelError('permanent', '21211', 'bad number');
    expect(twilioChannelError(given, 'x')).toBe(given);
  });
});
