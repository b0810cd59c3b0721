import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startTestApp, type TestApp } from '../helpers/app';

/** Connections opened while the gateway cannot accept any. */
const CONNECTIONS = 1_000;

/**
 * Opens CONNECTIONS connections to the port and prints how many completed their handshake within
 * two seconds (the kernel's SYN retry after one second included). Run with the gateway's process
 * blocked, so that none is accepted meanwhile: what completes is what the listen queue holds.
 */
const CLIENT = `
const net = require('node:net');
const port = Number(process.argv[1]);
let connected = 0;
const sockets = [];
for (let i = 0; i < ${CONNECTIONS}; i++) {
  const s = net.connect(port, '127.0.0.1');
  s.on('connect', () => connected++);
  s.on('error', () => undefined);
  sockets.push(s);
}
setTimeout(() => {
  process.stdout.write(String(connected));
  for (const s of sockets) s.destroy();
  process.exit(0);
}, 2000);
`;

/**
 * The answers bench, at 500 keypresses/s during a fan-out: the gateway's process accepts one new
 * connection per turn of its event loop (libuv since Node 20), a few dozen a second while it is
 * busy, and the provider opens a new connection for every webhook beyond those it keeps alive.
 * With Node's default listen backlog (511) the queue overflowed: the kernel dropped the
 * handshakes beyond it, and those webhooks reached the gateway only after the SYN was resent, 1,
 * 3, 7 s later, or not before Twilio gave up (15 s): answers lost. HTTP_LISTEN_BACKLOG (4096) lets
 * them wait in the queue instead.
 */
describe('HTTP listen backlog: connections the gateway has not accepted yet wait, none is dropped', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it(`keeps ${CONNECTIONS} connections opened at once while its process is busy`, () => {
    const port = Number(new URL(t.baseUrl).port);
    // Linux caps every listen backlog at net.core.somaxconn.
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
    // The queue holds one more than its backlog.
    const expected = Math.min(CONNECTIONS, Math.min(4096, somaxconn) + 1);
    // spawnSync blocks this process (the gateway's) until the client is done: nothing is accepted.
    const client = spawnSync(process.execPath, ['-e', CLIENT, String(port)], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(client.status).toBe(0);
    // Before: 512 (Node's default backlog of 511), the other 488 dropped by the kernel.
    expect(Number(client.stdout)).toBe(expected);
  });
});
