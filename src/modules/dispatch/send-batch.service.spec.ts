import type { AttemptToEnqueue, DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { SendBatchService } from './send-batch.service';
import type { SendAttemptService, SendOptions, SendOutcome } from './send-attempt.service';

/**
 * The send of one attempt and the queue at the unit's boundary: each attempt's outcome is given,
 * the jobs of their own it is handed on to are recorded.
 */
function setUp(outcomes: Record<string, SendOutcome | Error>, smsPerSecond = 10) {
  const sends: { id: string; lastTry: boolean; opts: SendOptions }[] = [];
  const enqueued: AttemptToEnqueue[][] = [];
  const attempts = {
    send: async (id: string, lastTry: boolean, _accepted: unknown, opts: SendOptions) => {
      sends.push({ id, lastTry, opts });
      const out = outcomes[id];
      if (out instanceof Error) throw out;
      return out;
    },
  } as unknown as SendAttemptService;
  const queue = {
    smsPerSecond,
    sendRetry: { attempts: 6, backoff: { type: 'exponential', delay: 2000 } },
    enqueueAttempts: async (list: AttemptToEnqueue[]) => {
      enqueued.push(list);
    },
    yieldToAnswers: async () => 0,
  } as unknown as DispatchQueue;
  return { service: new SendBatchService(attempts, queue), sends, enqueued };
}

describe('SendBatchService', () => {
  it('sends every attempt of the batch, none as a last try, within the batch’s second of the rate', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `a${i}`);
    const { service, sends, enqueued } = setUp(
      Object.fromEntries(ids.map((id) => [id, { kind: 'sent' } as SendOutcome])),
    );
    const out = await service.send({ batchId: 'b1', attemptIds: ids }, 3);
    expect(out).toEqual({ sent: 10, skipped: 0, failed: 0, handedOn: 0 });
    expect(sends.map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(sends.every((s) => !s.lastTry)).toBe(true);
    // 10 people at 10 SMS/s: a second of the rate on top of the 2 s a send waits alone.
    expect(sends.every((s) => s.opts.rateWaitMs === 3000)).toBe(true);
    expect(enqueued).toEqual([]);
  });

  it('hands on what it cannot finish now, each as a job of its own at the batch’s priority', async () => {
    const { service, enqueued } = setUp({
      sent: { kind: 'sent' },
      skipped: { kind: 'skipped' },
      failed: { kind: 'failed' },
      deferred: { kind: 'deferred', delayMs: 1500 },
      unrecorded: {
        kind: 'unrecorded',
        accepted: { provider: 'twilio', providerId: 'SM1', segments: 1 },
      },
      thrown: new Error('provider timed out'),
    });
    const out = await service.send(
      {
        batchId: 'b2',
        attemptIds: ['sent', 'skipped', 'failed', 'deferred', 'unrecorded', 'thrown'],
      },
      2,
    );
    expect(out).toEqual({ sent: 1, skipped: 1, failed: 1, handedOn: 3 });
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]).toEqual(
      expect.arrayContaining([
        // Deferred: after its delay.
        { id: 'deferred', channel: 'sms', priority: 2, delayMs: 1500 },
        // Accepted and not recorded: its job records it and never sends it again.
        {
          id: 'unrecorded',
          channel: 'sms',
          priority: 2,
          accepted: { provider: 'twilio', providerId: 'SM1', segments: 1 },
        },
        // Failed for now: tried again alone after the retry backoff, with that job's tries.
        { id: 'thrown', channel: 'sms', priority: 2, delayMs: 2000 },
      ]),
    );
    expect(enqueued[0]).toHaveLength(3);
  });

  it('fails as a whole when every send failed, handing nothing on (the job is tried again)', async () => {
    const down = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    const { service, enqueued } = setUp({ a: down, b: down });
    await expect(service.send({ batchId: 'b3', attemptIds: ['a', 'b'] }, 1)).rejects.toBe(down);
    expect(enqueued).toEqual([]);
  });
});
