import * as http from 'node:http';
import type { INestApplicationContext } from '@nestjs/common';
import { register } from 'prom-client';
import { DataSource } from 'typeorm';

/**
 * A worker process (ROLE=worker) serves no API, but answers its own health and metrics on a small
 * port of its own (WORKER_HTTP_PORT): `GET /health` (200 when its database answers, else 503) and
 * `GET /metrics` (Prometheus, the process's own registry), for container healthchecks and scraping.
 */
export function startWorkerHttp(app: INestApplicationContext, port: number): http.Server {
  const db = app.get(DataSource);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/health') {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('database ping timed out')), 3000).unref(),
      );
      Promise.race([db.query('SELECT 1'), timeout])
        .then(() => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ status: 'ok', role: 'worker' }));
        })
        .catch((err: Error) => {
          res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' });
          res.end(JSON.stringify({ status: 'error', role: 'worker', message: err.message }));
        });
      return;
    }
    if (path === '/metrics') {
      register
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'Content-Type': register.contentType });
          res.end(text);
        })
        .catch(() => res.writeHead(500).end());
      return;
    }
    res.writeHead(404).end();
  });
  server.listen(port);
  return server;
}
