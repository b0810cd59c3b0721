import * as fs from 'node:fs';
import * as net from 'node:net';

/** The kernel's range for the local ports of outbound connections (Linux; 32768–60999 else). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    // Not Linux: the common default.
  }
  return [32768, 60999];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port free on 127.0.0.1 now, for a server that starts listening a while later. Taken outside
 * the kernel's ephemeral range: a port the kernel hands out (listen on 0) and that is freed again
 * goes back to the pool outbound connections take their local ports from, and the connections
 * opened meanwhile (the gateway's database and queue pools) took it now and then, so the server
 * failed with EADDRINUSE. Below that range only a server asking for that very port can take it.
 */
export async function freePort(): Promise<number> {
  const [lo, hi] = ephemeralRange();
  // Below the ephemeral range if there is room there, else above it.
  const [from, to] = lo > 11_000 ? [10_000, lo - 1] : [hi + 1, 65_535];
  for (let i = 0; i < 100; i++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${from} and ${to}`);
}
