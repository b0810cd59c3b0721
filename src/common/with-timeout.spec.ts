import { TimeoutError, withTimeout } from './with-timeout';

describe('withTimeout', () => {
  it('gives the result of work that finishes in time', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, 'work')).resolves.toBe(7);
  });

  it('stops waiting for work that hangs (a queue backend that is down) and names it', async () => {
    const hanging = new Promise<never>(() => undefined);
    await expect(withTimeout(hanging, 20, 'enqueueing the fan-out')).rejects.toThrow(
      new TimeoutError('enqueueing the fan-out', 20),
    );
  });

  it('swallows a late failure of work it stopped waiting for (no unhandled rejection)', async () => {
    const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('late')), 30));
    await expect(withTimeout(late, 5, 'work')).rejects.toBeInstanceOf(TimeoutError);
    await new Promise((r) => setTimeout(r, 50));
  });
});
