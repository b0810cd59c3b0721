import * as fs from 'node:fs';
import * as net from 'node:net';
import { freePort } from '../helpers/ports';

/**
 * Servers the tests start later on a port chosen first (the gateway app: its public URL is part
 * of its config) failed now and then with EADDRINUSE: the port came from the kernel's ephemeral
 * range, and an outbound connection opened meanwhile took it as its local port.
 */
describe('freePort: a port for a server started later', () => {
  it('is outside the kernel’s ephemeral range, and a server can listen on it', async () => {
    const [lo, hi] = fs.existsSync('/proc/sys/net/ipv4/ip_local_port_range')
      ? fs
          .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
          .trim()
          .split(/\s+/)
          .map(Number)
      : [32768, 60999];
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port >= lo && port <= hi).toBe(false);
      await new Promise<void>((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
    }
  });
});
