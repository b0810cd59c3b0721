import type { ConfigService } from '@nestjs/config';
import type { Queue } from 'bullmq';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import type { InboundEvent } from './inbound-events';
import { InboundSpool, type InboundSpoolJob, spoolJobId } from './inbound-spool';
import { spoolRetryDelay } from './inbound-spool.worker';

const sms: InboundEvent = { type: 'sms', messageSid: 'SM1', from: '+8613800000001', body: '1' };
const gather: InboundEvent = {
  type: 'gather',
  attemptId: '00000000-0000-4000-8000-000000000001',
  callSid: 'CA1',
  digits: '1',
  round: 1,
};

/** The spool with its queue (the boundary) recording what it is given. */
function spoolWith(add: (...args: unknown[]) => Promise<unknown>) {
  const added: unknown[][] = [];
  const queue = {
    add: (...args: unknown[]) => {
      added.push(args);
      return add(...args);
    },
  } as unknown as Queue<InboundSpoolJob>;
  const config = { get: () => 200 } as unknown as ConfigService;
  return { spool: new InboundSpool(queue, config), added };
}

describe('InboundSpool', () => {
  const receivedAt = new Date('2026-12-06T06:00:00.000Z');
  const unreachable = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

  it('keeps an event whose recording failed on an unreachable database, and answers "received"', async () => {
    const { spool, added } = spoolWith(async () => ({}));
    const out = await spool.recordOrKeep(
      () => Promise.reject(unreachable()),
      sms,
      receivedAt,
      () => 'received',
    );
    expect(out).toBe('received');
    expect(added).toHaveLength(1);
    const [name, data, opts] = added[0] as [string, InboundSpoolJob, { jobId: string }];
    expect(name).toBe('sms');
    expect(data).toEqual({
      event: sms,
      receivedAt: '2026-12-06T06:00:00.000Z',
      reason: 'database_unavailable',
    });
    expect(opts.jobId).toBe(spoolJobId(sms));
  });

  it('keeps nothing on a constraint or validation error, nor when it recorded', async () => {
    const { spool, added } = spoolWith(async () => ({}));
    const unique = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(
      spool.recordOrKeep(
        () => Promise.reject(unique),
        sms,
        receivedAt,
        () => 'received',
      ),
    ).rejects.toBe(unique);
    const invalid = AppException.validation([{ field: 'Digits', message: 'bad' }]);
    await expect(
      spool.recordOrKeep(
        () => Promise.reject(invalid),
        sms,
        receivedAt,
        () => 'received',
      ),
    ).rejects.toBe(invalid);
    expect(
      await spool.recordOrKeep(
        async () => 'recorded',
        sms,
        receivedAt,
        () => 'x',
      ),
    ).toBe('recorded');
    expect(added).toEqual([]);
  });

  it('answers 503 with Retry-After when the queue backend cannot take it either (fails or hangs)', async () => {
    for (const add of [
      () => Promise.reject(new Error('Connection is closed.')),
      () => new Promise(() => undefined),
    ]) {
      const { spool } = spoolWith(add);
      const err = await spool
        .recordOrKeep(
          () => Promise.reject(unreachable()),
          gather,
          receivedAt,
          () => 'received',
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppException);
      expect((err as AppException).code).toBe(ErrorCode.Unavailable);
      expect((err as AppException).details).toMatchObject({ retryAfter: 5 });
    }
  });

  it('gives one job id per provider event: a webhook posted twice is one job', () => {
    expect(spoolJobId({ ...sms })).toBe(spoolJobId(sms));
    expect(spoolJobId({ ...sms, messageSid: 'SM2' })).not.toBe(spoolJobId(sms));
    expect(spoolJobId({ ...gather, round: 2 })).not.toBe(spoolJobId(gather));
    expect(spoolJobId({ ...gather, digits: '2' })).not.toBe(spoolJobId(gather));
    for (const id of [spoolJobId(sms), spoolJobId(gather)]) expect(id).not.toContain(':');
  });

  it('retries applying with a doubling delay, capped', () => {
    expect([1, 2, 3, 4, 5, 50].map((n) => spoolRetryDelay(n, 1000, 5000))).toEqual([
      1000, 2000, 4000, 5000, 5000, 5000,
    ]);
  });
});
