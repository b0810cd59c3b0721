import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/app';

/** Connections waiting in the listen queue when the gateway's event loop turns again. */
const CONNECTIONS = 256;
/** HTTP_ACCEPTS_PER_TURN's default. */
const PER_TURN = 32;

/**
 * Opens CONNECTIONS connections to the port, sends a request on each, creates the file named by
 * its second argument once every handshake is done (the kernel completes them; nothing needs to
 * be accepted yet), and prints how many responses it read before every connection ended.
 */
const CLIENT = `
const net = require('node:net');
const fs = require('node:fs');
const [port, ready] = [Number(process.argv[1]), process.argv[2]];
let connected = 0, ended = 0, answered = 0;
for (let i = 0; i < ${CONNECTIONS}; i++) {
  const s = net.connect(port, '127.0.0.1');
  let head = '';
  s.on('connect', () => {
    s.write('GET /health HTTP/1.1\\r\\nHost: gateway\\r\\nConnection: close\\r\\n\\r\\n');
    if (++connected === ${CONNECTIONS}) fs.writeFileSync(ready, '');
  });
  s.on('data', (d) => { head += d; });
  s.on('error', () => undefined);
  s.on('close', () => {
    if (head.startsWith('HTTP/1.1 ')) answered++;
    if (++ended === ${CONNECTIONS}) { process.stdout.write(String(answered)); process.exit(0); }
  });
}
`;

/** Blocks this thread (the gateway's event loop with it) until `path` exists. */
function blockUntilExists(path: string, maxMs: number): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + maxMs;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear within ${maxMs} ms`);
    Atomics.wait(sleeper, 0, 0, 10);
  }
}

/**
 * The answers bench, at 500 keypresses/s during a fan-out: the API process accepted one new
 * connection per turn of its event loop (libuv since Node 20), a few dozen a second while busy,
 * so the webhooks on new connections waited seconds in the listen queue, unseen by the process
 * and so neither answered nor shed. With HTTP_ACCEPTS_PER_TURN handles of its listening socket
 * it takes up to that many per turn.
 */
describe('HTTP accepts per turn: a queue of new connections is taken in a few turns of the event loop', () => {
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    t = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'accepts-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`accepts ${CONNECTIONS} queued connections ${PER_TURN} a turn and answers each`, async () => {
    const server = t.app.getHttpServer() as Server;
    const port = Number(new URL(t.baseUrl).port);
    const ready = join(dir, 'ready');
    const client = spawn(process.execPath, ['-e', CLIENT, String(port), ready], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => client.on('exit', resolve));

    // Nothing is accepted while this thread is blocked: every connection waits in the queue.
    blockUntilExists(ready, 15_000);

    // Counts the turns of the event loop (one check phase each) and the turn of each accept.
    let turn = 0;
    const acceptedIn: number[] = [];
    const onConnection = () => acceptedIn.push(turn);
    server.on('connection', onConnection);
    await new Promise<void>((resolve) => {
      const next = () => {
        turn++;
        if (acceptedIn.length >= CONNECTIONS || turn >= 2 * CONNECTIONS) resolve();
        else setImmediate(next);
      };
      setImmediate(next);
    });
    server.off('connection', onConnection);

    expect(acceptedIn).toHaveLength(CONNECTIONS);
    const perTurn = new Map<number, number>();
    for (const at of acceptedIn) perTurn.set(at, (perTurn.get(at) ?? 0) + 1);
    // Before: one connection in each of 256 turns.
    expect(Math.max(...perTurn.values())).toBe(PER_TURN);
    expect(perTurn.size).toBeLessThanOrEqual(CONNECTIONS / PER_TURN + 2);

    // Every connection, whichever handle accepted it, is served by the gateway's HTTP server.
    expect(await exited).toBe(0);
    expect(Number(out)).toBe(CONNECTIONS);
  });
});
