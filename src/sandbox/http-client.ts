import * as http from 'node:http';
import * as https from 'node:https';

export interface OutboundRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export interface OutboundResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * The sandbox's own HTTP client for the webhooks it posts to the gateway. It opens one
 * connection per request (no keep-alive pool that would outlive `stop()`), and every request
 * is aborted when the carrier stops.
 */
export class OutboundHttp {
  private readonly inflight = new Set<http.ClientRequest>();
  private closed = false;

  async request(req: OutboundRequest): Promise<OutboundResponse> {
    if (this.closed) throw new Error('sandbox carrier stopped');
    const url = new URL(req.url);
    const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
    if (!transport) throw new Error(`unsupported URL scheme: ${url.protocol}`);
    const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
    const headers: Record<string, string> = { ...(req.headers ?? {}), Connection: 'close' };
    if (body) headers['Content-Length'] = String(body.length);
    return new Promise<OutboundResponse>((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method: req.method,
          headers,
          agent: false,
          timeout: req.timeoutMs ?? 15_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      this.inflight.add(request);
      request.on('close', () => this.inflight.delete(request));
      request.on('timeout', () =>
        request.destroy(new Error(`timed out after ${req.timeoutMs ?? 15_000} ms`)),
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  /** Aborts every request in flight and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const request of this.inflight) request.destroy(new Error('sandbox carrier stopped'));
    this.inflight.clear();
  }
}

/** Short description of a failed request, for the event log. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
