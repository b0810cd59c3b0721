/**
 * Watches how many calls of `obj[method]` are under way at once. Each call waits (a second at
 * most) for a second one to be under way beside it before it runs, so that calls a design runs
 * side by side are seen side by side. `restore()` puts the method back.
 */
export function watchCallsAtOnce<T extends object, K extends keyof T>(obj: T, method: K) {
  const original = (obj[method] as (...args: unknown[]) => Promise<unknown>).bind(obj);
  const seen = { calls: 0, most: 0 };
  let inFlight = 0;
  let together!: () => void;
  const twoUnderWay = new Promise<void>((resolve) => (together = resolve));
  const spy = jest.spyOn(obj, method as never).mockImplementation((async (...args: unknown[]) => {
    seen.calls += 1;
    inFlight += 1;
    seen.most = Math.max(seen.most, inFlight);
    if (inFlight >= 2) together();
    await Promise.race([twoUnderWay, new Promise((r) => setTimeout(r, 1000))]);
    try {
      return await original(...args);
    } finally {
      inFlight -= 1;
    }
  }) as never);
  return { seen, restore: () => spy.mockRestore() };
}
