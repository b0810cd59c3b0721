import { spawn } from 'node:child_process';
import { Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';

/**
 * libuv (since Node 20, libuv/libuv#3696) accepts one connection per listening handle per turn
 * of the event loop. A busy API process turns a few dozen times a second, so it took a few dozen
 * new connections a second while a provider opened hundreds (one per webhook beyond those it
 * keeps alive): the rest waited seconds in the kernel's listen queue, unseen by the process and
 * so neither answered nor shed.
 *
 * The kernel wakes every file descriptor of a listening socket, and libuv accepts once on each.
 * So the server gets `count - 1` more descriptors of its own listening socket, each a handle of
 * its own feeding the same HTTP server: up to `count` connections accepted per turn. Node 20 has
 * no `reusePort` and no `dup()`; a descriptor sent over an IPC channel arrives as a new one, so a
 * short-lived helper process is handed the socket and sends it back `count - 1` times, then exits.
 * The helper never listens on it (a raw handle is only polled once `listen` is called on it).
 *
 * `backlog` must be the one the server listens with: each handle's listen sets it anew.
 * Returns how many handles accept (1 when the copies could not be made: the server works as
 * before, and the caller logs why).
 */
export async function addAcceptHandles(
  server: HttpServer,
  count: number,
  backlog: number,
): Promise<number> {
  if (count <= 1 || process.platform === 'win32') return 1;
  const handle = (server as unknown as { _handle?: object | null })._handle;
  if (!handle) throw new Error('the HTTP server is not listening');
  const copies = await copiesOf(handle, count - 1);
  // The connection options net.Server keeps on itself (http.Server sets them from its own).
  const own = server as unknown as {
    allowHalfOpen?: boolean;
    noDelay?: boolean;
    keepAlive?: boolean;
    keepAliveInitialDelay?: number;
  };
  const extras = copies.map((copy) => {
    const extra = new NetServer({
      allowHalfOpen: own.allowHalfOpen ?? true,
      noDelay: own.noDelay ?? true,
      keepAlive: own.keepAlive ?? false,
      keepAliveInitialDelay: own.keepAliveInitialDelay ?? 0,
    });
    // An HTTP server takes connections handed to it as its own (its timeouts, its tracking).
    extra.on('connection', (socket: Socket) => server.emit('connection', socket));
    extra.on('error', (err) => server.emit('error', err));
    // listen(2) again on the same socket sets its backlog: the server's own, not Node's 511.
    extra.listen(copy, backlog);
    return extra;
  });
  // Closing the HTTP server stops every handle from accepting, as closing one handle would.
  const close = server.close.bind(server);
  server.close = ((callback?: (err?: Error) => void) => {
    for (const extra of extras) if (extra.listening) extra.close();
    return close(callback);
  }) as typeof server.close;
  return 1 + extras.length;
}

/** The helper: sends the handle it is given back `copies` times, one after the other, then exits. */
const HELPER = `
process.on('message', (message, handle) => {
  let left = Number(message.copies);
  const next = (err) => {
    if (err || left-- <= 0) return process.disconnect();
    process.send({ copy: true }, handle, next);
  };
  next();
});
`;

function copiesOf(handle: object, copies: number): Promise<object[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', HELPER], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {},
    });
    const got: object[] = [];
    const fail = (err: Error) => {
      clearTimeout(timer);
      for (const copy of got) (copy as { close?: () => void }).close?.();
      reject(err);
    };
    const timer = setTimeout(() => {
      child.kill();
      fail(new Error('the helper process did not send the copies within 10 s'));
    }, 10_000);
    child.on('message', (_message, copy) => {
      if (copy) got.push(copy as object);
    });
    child.on('error', fail);
    child.on('disconnect', () => {
      clearTimeout(timer);
      if (got.length === copies) resolve(got);
      else fail(new Error(`the helper process sent ${got.length} of ${copies} copies`));
    });
    // A raw TCP handle: sent as such, received as such (not listened on by the helper).
    child.send({ copies }, handle as Parameters<typeof child.send>[1]);
  });
}
