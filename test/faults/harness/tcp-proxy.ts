import * as net from 'node:net';

/**
 * A TCP proxy in front of Postgres that can go "down": every open connection is cut and new ones
 * are reset at once (the gateway sees the database refuse connections), until `up()`.
 */
export class TcpFaultProxy {
  private down = false;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpFaultProxy> {
    const ref: { proxy?: TcpFaultProxy } = {};
    const server = net.createServer((client) => {
      const self = ref.proxy as TcpFaultProxy;
      if (self.down) {
        client.resetAndDestroy();
        return;
      }
      const upstream = net.connect({ host: targetHost, port: targetPort });
      for (const s of [client, upstream]) {
        self.sockets.add(s);
        s.on('close', () => self.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpFaultProxy(server, (server.address() as net.AddressInfo).port);
    ref.proxy = proxy;
    return proxy;
  }

  /** The database "goes away": connections cut, new ones refused. */
  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  up(): void {
    this.down = false;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
