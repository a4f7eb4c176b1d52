import { afterEach, describe, expect, it } from 'vitest';
import { startOpsServer, type Health, type OpsServer } from '../../src/ops/http.js';
import { createApplyMetrics, createRegistry } from '../../src/ops/metrics.js';

let server: OpsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(health: () => Health | Promise<Health>) {
  const registry = createRegistry();
  const metrics = createApplyMetrics(registry);
  server = await startOpsServer({ port: 0, host: '127.0.0.1', registry, health });
  return { metrics, base: `http://127.0.0.1:${server.port}` };
}

describe('ops http server', () => {
  it('when /metrics is fetched then it returns the registry text', async () => {
    const { metrics, base } = await start(() => ({ ok: true, detail: {} }));
    metrics.plan.inc({ symbol: 'BTCUSDT', decision: 'SKIP' });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('quantum_apply_plan_total{symbol="BTCUSDT",decision="SKIP"} 1');
  });

  it('when the service is healthy then /healthz is 200 with the detail', async () => {
    const { base } = await start(() => ({ ok: true, detail: { redis: 'up', lagMs: 3 } }));
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, detail: { redis: 'up', lagMs: 3 } });
  });

  it('when the service is unhealthy then /healthz is 503 with the detail', async () => {
    const { base } = await start(async () => ({ ok: false, detail: { redis: 'down' } }));
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: false, detail: { redis: 'down' } });
  });

  it('when the health check throws then /healthz is 503', async () => {
    const { base } = await start(() => {
      throw new Error('boom');
    });
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: false, detail: { error: 'health_check_failed' } });
  });

  it('when another path or method is used then it is 404 or 405', async () => {
    const { base } = await start(() => ({ ok: true, detail: {} }));
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metricsx`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('when closed then the port no longer answers', async () => {
    const { base } = await start(() => ({ ok: true, detail: {} }));
    await fetch(`${base}/healthz`);
    await server?.close();
    server = null;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('when the port is taken then start rejects', async () => {
    const { base } = await start(() => ({ ok: true, detail: {} }));
    const port = Number(new URL(base).port);
    await expect(
      startOpsServer({
        port,
        host: '127.0.0.1',
        registry: createRegistry(),
        health: () => ({ ok: true, detail: {} }),
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
