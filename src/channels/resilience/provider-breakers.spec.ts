import { Test } from '@nestjs/testing';
import { TEST_ACCOUNT_SID, TEST_AUTH_TOKEN } from '../../sandbox/testing/fixtures';
import { ChannelRegistry } from '../channel-registry';
import { ChannelError } from '../channel.types';
import { ChannelsModule } from '../channels.module';
import { StubProvider } from '../testing/stub-provider';
import { ProviderBreakers } from './provider-breakers';

const twilioError = (status: number, code: number) => ({
  status,
  body: {
    code,
    message: `error ${code}`,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  },
});
const accepted = {
  status: 201,
  body: { sid: `SM${'ab'.repeat(16)}`, status: 'queued', num_segments: '1' },
};

async function until(done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function failure(p: Promise<unknown>): Promise<ChannelError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChannelError);
  return err as ChannelError;
}

describe('ProviderBreakers with Twilio answering 500 (TWILIO_API_BASE_URL → a failing local server)', () => {
  let stub: StubProvider;
  let registry: ChannelRegistry;
  let breakers: ProviderBreakers;
  let close: () => Promise<void>;

  beforeAll(async () => {
    stub = await StubProvider.start(twilioError(500, 20500));
    const moduleRef = await Test.createTestingModule({
      imports: [
        ChannelsModule.forRoot({
          env: {
            TWILIO_ACCOUNT_SID: TEST_ACCOUNT_SID,
            TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
            TWILIO_FROM_NUMBER: '+8610690000110',
            TWILIO_API_BASE_URL: stub.baseUrl,
            BREAKER_FAILURE_THRESHOLD_PERCENT: '50',
            BREAKER_MIN_REQUESTS: '3',
            BREAKER_RESET_MS: '300',
          },
          rateLimitStore: { kind: 'memory' },
        }),
      ],
    }).compile();
    const app = await moduleRef.init();
    registry = app.get(ChannelRegistry);
    breakers = app.get(ProviderBreakers);
    close = () => app.close();
  });

  afterAll(async () => {
    await close();
    await stub.stop();
  });

  const send = () =>
    breakers.run('twilio:sms', () => registry.sms.send({ to: '+8613800000001', body: '测试' }));

  it('fails transiently, opens after the minimum number of calls, then fails fast without calling Twilio', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await failure(send())).toMatchObject({ kind: 'transient', code: '20500' });
    }
    expect(stub.hits).toBe(3);
    expect(breakers.state('twilio:sms')).toBe('open');

    const open = await failure(send());
    expect(open.kind).toBe('circuit_open');
    expect(open.retryAfterMs).toBeGreaterThan(0);
    expect(open.retryAfterMs).toBeLessThanOrEqual(300);
    expect(stub.hits).toBe(3); // refused without a request
    expect(breakers.state('twilio:voice')).toBe('closed'); // calls are another provider API
  });

  it('after BREAKER_RESET_MS lets one call through; a success closes it again', async () => {
    await until(() => breakers.state('twilio:sms') === 'half_open');
    stub.answer = accepted;
    const receipt = await send();
    expect(receipt.providerId).toBe(accepted.body.sid);
    expect(breakers.state('twilio:sms')).toBe('closed');
  });
});

describe('ProviderBreakers: what counts as a provider failure', () => {
  let stub: StubProvider;
  const make = () =>
    new ProviderBreakers({ failureThresholdPercent: 50, resetMs: 10_000, minRequests: 3 });
  const all: ProviderBreakers[] = [];

  beforeAll(async () => {
    stub = await StubProvider.start({ status: 500 });
  });
  afterAll(async () => {
    for (const b of all) b.shutdown();
    await stub.stop();
  });

  it('permanent errors (an invalid number) and rate limits never open the circuit', async () => {
    const breakers = make();
    all.push(breakers);
    const permanent = () =>
      Promise.reject(new ChannelError('permanent', '21211', 'invalid number'));
    const limited = () =>
      Promise.reject(new ChannelError('rate_limited', '45009', 'slow down', 60_000));
    for (let i = 0; i < 10; i++) {
      await failure(breakers.run('wecom', i % 2 ? permanent : limited));
    }
    expect(breakers.state('wecom')).toBe('closed');
  });

  it('unexpected errors count like transient ones', async () => {
    const breakers = make();
    all.push(breakers);
    for (let i = 0; i < 3; i++) {
      await expect(breakers.run('smtp', () => Promise.reject(new Error('boom')))).rejects.toThrow(
        'boom',
      );
    }
    expect(breakers.state('smtp')).toBe('open');
    expect(await failure(breakers.run('smtp', () => Promise.resolve('x')))).toMatchObject({
      kind: 'circuit_open',
    });
  });

  it('a failure share at or below the threshold keeps it closed', async () => {
    const breakers = make();
    all.push(breakers);
    const transient = () => Promise.reject(new ChannelError('transient', '500', 'down'));
    await breakers.run('broadcast', () => Promise.resolve(1));
    await failure(breakers.run('broadcast', transient));
    await breakers.run('broadcast', () => Promise.resolve(1));
    await failure(breakers.run('broadcast', transient));
    expect(breakers.state('broadcast')).toBe('closed'); // 2 of 4: 50 % is not more than 50 %
    await failure(breakers.run('broadcast', transient));
    expect(breakers.state('broadcast')).toBe('open'); // 3 of 5
  });
});
