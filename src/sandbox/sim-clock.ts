/**
 * Simulated time for the sandbox carrier. Every delay the sandbox simulates (ringing, playback,
 * a person's reaction time, rate-limit windows) is expressed in simulated milliseconds and runs
 * for `simMs * timeScale` real milliseconds, so tests can run a 30-second call in 300 ms.
 *
 * Every timer is unref'd (it never keeps the process alive) and is cleared by `stop()`; a sleep
 * pending at that moment rejects with `SandboxStoppedError`.
 */
export class SandboxStoppedError extends Error {
  constructor() {
    super('sandbox carrier stopped');
    this.name = 'SandboxStoppedError';
  }
}

/** Thrown by `sleep` when its AbortSignal fires; `reason` is the signal's reason. */
export class SleepAbortedError extends Error {
  constructor(readonly reason: unknown) {
    super(`sleep aborted: ${String(reason)}`);
    this.name = 'SleepAbortedError';
  }
}

interface PendingTimer {
  timer: NodeJS.Timeout;
  onStop?: () => void;
}

export class SimClock {
  private readonly pending = new Set<PendingTimer>();
  private stopped = false;

  constructor(readonly timeScale: number) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
      throw new Error(`timeScale must be a positive number (got ${timeScale})`);
    }
  }

  /** Real milliseconds for a simulated duration. */
  real(simMs: number): number {
    return Math.max(0, simMs * this.timeScale);
  }

  /** Simulated milliseconds for a real duration. */
  sim(realMs: number): number {
    return realMs / this.timeScale;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Runs `fn` after a simulated delay; returns a function that cancels it. */
  schedule(simMs: number, fn: () => void): () => void {
    if (this.stopped) return () => undefined;
    const entry: PendingTimer = {
      timer: setTimeout(() => {
        this.pending.delete(entry);
        fn();
      }, this.real(simMs)),
    };
    entry.timer.unref();
    this.pending.add(entry);
    return () => {
      clearTimeout(entry.timer);
      this.pending.delete(entry);
    };
  }

  /**
   * Waits a simulated delay. Rejects with SleepAbortedError when `signal` aborts first, and with
   * SandboxStoppedError when the clock is stopped first.
   */
  sleep(simMs: number, signal?: AbortSignal): Promise<void> {
    if (this.stopped) return Promise.reject(new SandboxStoppedError());
    if (signal?.aborted) return Promise.reject(new SleepAbortedError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(entry.timer);
        this.pending.delete(entry);
        reject(new SleepAbortedError(signal?.reason));
      };
      const entry: PendingTimer = {
        timer: setTimeout(() => {
          this.pending.delete(entry);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, this.real(simMs)),
        onStop: () => {
          signal?.removeEventListener('abort', onAbort);
          reject(new SandboxStoppedError());
        },
      };
      entry.timer.unref();
      this.pending.add(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Clears every timer; pending sleeps reject with SandboxStoppedError. */
  stop(): void {
    this.stopped = true;
    for (const entry of this.pending) {
      clearTimeout(entry.timer);
      entry.onStop?.();
    }
    this.pending.clear();
  }
}
