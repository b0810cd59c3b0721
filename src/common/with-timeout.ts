/** Raised by `withTimeout` when the work took too long (it may still finish in the background). */
export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} took more than ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Waits for `work` at most `ms` milliseconds. The work is not cancelled: it may still complete
 * (an enqueue once Redis is back), and its late failure is swallowed here, so callers use this only
 * where a late completion is harmless and a lost one is made good elsewhere (the recovery sweep).
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined);
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
        timer.unref();
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
