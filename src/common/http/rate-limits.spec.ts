import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import IORedis from 'ioredis';
import { AppException } from '../errors/app.exception';
import { rateLimits } from './rate-limits';

const FAILURES = 3;

/**
 * The per-IP limits against the real Redis of the test run: the shared store is read only for a
 * client this process has seen fail, so signed webhooks and valid tokens cost no store round trip,
 * while failures still add up across processes.
 */
describe('rateLimits: the shared store only for clients seen failing', () => {
  let redis: IORedis;
  /** Commands sent to Redis that touch this test's keys. */
  let commands: string[][];
  const servers: Server[] = [];

  beforeAll(() => {
    redis = new IORedis(process.env.TEST_REDIS_URL as string, { maxRetriesPerRequest: 1 });
    // Counts, without changing it, every command that reaches Redis through this client.
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((cmd: { name: string; args: unknown[] }, ...rest: unknown[]) => {
      commands?.push([cmd.name, ...cmd.args.map(String)]);
      return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
    }) as typeof redis.sendCommand;
  });
  beforeEach(() => {
    commands = [];
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await redis.quit();
  });

  /** An API process: the limits in front of routes that answer with the status asked for. */
  async function apiProcess(keyPrefix: string): Promise<string> {
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use(
      rateLimits({
        windowSeconds: 60,
        failures: FAILURES,
        publicRequests: 0,
        store: { kind: 'redis', client: redis },
        keyPrefix,
      }),
    );
    app.all(/.*/, (req, res) => {
      res.status(Number(req.headers['x-status'] ?? 200)).end();
    });
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(err instanceof AppException && err.code === 'RATE_LIMITED' ? 429 : 500).end();
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const post = async (base: string, path: string, ip: string, status: number) =>
    (
      await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'x-forwarded-for': ip, 'x-status': String(status) },
      })
    ).status;
  const touching = (prefix: string) => commands.filter((c) => c.some((a) => a.includes(prefix)));

  it('reads nothing from the store for signed webhooks and valid tokens', async () => {
    const prefix = `rl${randomBytes(4).toString('hex')}`;
    const base = await apiProcess(prefix);
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      statuses.push(await post(base, '/webhooks/twilio/voice/x/gather', '10.9.0.1', 200));
      statuses.push(await post(base, '/v1/warnings', '10.9.0.1', 200));
    }
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(touching(prefix)).toEqual([]);
  });

  it('still answers 429 past the limit, and reads the store for that client only', async () => {
    const prefix = `rl${randomBytes(4).toString('hex')}`;
    const base = await apiProcess(prefix);
    for (let i = 0; i < FAILURES; i++)
      expect(await post(base, '/webhooks/twilio/sms', '10.9.1.1', 403)).toBe(403);
    expect(await post(base, '/webhooks/twilio/sms', '10.9.1.1', 200)).toBe(429);
    // Another client of the same process: no store read, not throttled.
    const before = touching(prefix).length;
    expect(await post(base, '/webhooks/twilio/sms', '10.9.1.2', 200)).toBe(200);
    expect(touching(prefix).length).toBe(before);
    // The webhook failures lock the webhooks only.
    expect(await post(base, '/v1/warnings', '10.9.1.1', 200)).toBe(200);
  });

  it('adds up failures across processes: a process that sees the client fail once reads the shared count', async () => {
    const prefix = `rl${randomBytes(4).toString('hex')}`;
    const a = await apiProcess(prefix);
    const b = await apiProcess(prefix);
    for (let i = 0; i < FAILURES - 1; i++)
      expect(await post(a, '/v1/warnings', '10.9.2.1', 401)).toBe(401);
    // The last failure allowed, on the other process: counted in the shared store.
    expect(await post(b, '/v1/warnings', '10.9.2.1', 401)).toBe(401);
    expect(await post(b, '/v1/warnings', '10.9.2.1', 200)).toBe(429);
    expect(await post(a, '/v1/warnings', '10.9.2.1', 200)).toBe(429);
    // A third process that never saw the client fail lets at most one more failure through.
    const c = await apiProcess(prefix);
    expect([401, 429]).toContain(await post(c, '/v1/warnings', '10.9.2.1', 401));
    expect(await post(c, '/v1/warnings', '10.9.2.1', 200)).toBe(429);
  });
});
