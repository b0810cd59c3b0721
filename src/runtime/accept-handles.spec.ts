import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { addAcceptHandles } from './accept-handles';

const listening = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', 511, () => resolve((server.address() as AddressInfo).port)),
  );

const get = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });

/** Resolves with the error code of a connection attempt, or 'connected'. */
const tryConnect = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });

describe('addAcceptHandles', () => {
  it('gives the server as many handles as asked, each serving its requests', async () => {
    const server = createServer((_req, res) => res.end('served'));
    const port = await listening(server);
    await expect(addAcceptHandles(server, 8, 511)).resolves.toBe(8);
    const bodies = await Promise.all(Array.from({ length: 50 }, () => get(port)));
    expect(bodies).toEqual(Array.from({ length: 50 }, () => 'served'));
    await new Promise((resolve) => server.close(resolve));
  });

  it('stops every handle from accepting when the server is closed', async () => {
    const server = createServer((_req, res) => res.end('served'));
    const port = await listening(server);
    await addAcceptHandles(server, 8, 511);
    expect(await get(port)).toBe('served');
    await new Promise((resolve) => server.close(resolve));
    // Any handle still listening would complete the handshake.
    const attempts = await Promise.all(Array.from({ length: 8 }, () => tryConnect(port)));
    expect(attempts).toEqual(Array.from({ length: 8 }, () => 'ECONNREFUSED'));
  });

  it('asks for nothing when one handle is wanted', async () => {
    const server = createServer((_req, res) => res.end('served'));
    await listening(server);
    await expect(addAcceptHandles(server, 1, 511)).resolves.toBe(1);
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses a server that is not listening', async () => {
    await expect(addAcceptHandles(createServer(), 4, 511)).rejects.toThrow('not listening');
  });
});
