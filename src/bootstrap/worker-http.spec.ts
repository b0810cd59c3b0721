import type { AddressInfo } from 'node:net';
import type { INestApplicationContext } from '@nestjs/common';
import { startWorkerHttp } from './worker-http';

/** A worker's application context whose database answers (or fails) as told. */
function contextWith(query: () => Promise<unknown>): INestApplicationContext {
  return { get: () => ({ query }) } as unknown as INestApplicationContext;
}

async function serve(query: () => Promise<unknown>) {
  const server = startWorkerHttp(contextWith(query), 0);
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, close: () => new Promise((r) => server.close(r)) };
}

describe("a worker's own health and metrics port", () => {
  it('answers /health 200 when its database answers, and serves /metrics', async () => {
    const { base, close } = await serve(async () => [{ '?column?': 1 }]);
    try {
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', role: 'worker' });
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await close();
    }
  });

  it('answers /health 503 with Retry-After when the database does not', async () => {
    const { base, close } = await serve(async () => {
      throw new Error('connect ECONNREFUSED');
    });
    try {
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(503);
      expect(health.headers.get('retry-after')).toBe('5');
    } finally {
      await close();
    }
  });
});
