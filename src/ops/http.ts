/** The ops endpoint of every service: GET /metrics (Prometheus text) and GET /healthz. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Health {
  ok: boolean;
  detail: object;
}

export interface OpsServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 0.0.0.0 (METRICS_HOST sets it). */
  host?: string;
  /** Read at every scrape (a service that restarts its start-up swaps its registry). */
  registry: Pick<Registry, 'contentType' | 'metrics'>;
  health: () => Health | Promise<Health>;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function handle(opts: OpsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain', 'method not allowed\n');
    return;
  }
  if (path === '/metrics') {
    send(res, 200, opts.registry.contentType, await opts.registry.metrics());
    return;
  }
  if (path === '/healthz') {
    let h: Health;
    try {
      h = await opts.health();
    } catch {
      h = { ok: false, detail: { error: 'health_check_failed' } };
    }
    send(res, h.ok ? 200 : 503, 'application/json', JSON.stringify({ ok: h.ok, detail: h.detail }));
    return;
  }
  send(res, 404, 'text/plain', 'not found\n');
}

export function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((req, res) => {
    handle(opts, req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  // Scrapers keep connections open; close() must not wait for them.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
