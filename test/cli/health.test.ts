/**
 * /healthz of every service command tells the truth: 200 while Redis and the exchange answer,
 * 503 with the reason in the body within twice the service's period once either stops
 * answering; and a service whose Redis is down at boot waits for it instead of exiting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GOVERNOR_HEARTBEAT_MS } from '../../src/cli/heartbeat.js';
import { freePort, skipRedis } from '../helpers/redis-server.js';
import { runCli, startCliRig } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

/** Scheduling, the HTTP round trip and a probe's own failure time, on top of the bound. */
const SLACK_MS = 1500;
const POLL_SEC = 0.2;

type Rig = Awaited<ReturnType<typeof startCliRig>>;
type Cli = ReturnType<typeof runCli>;

async function healthz(
  port: number,
): Promise<{ status: number; body: { ok: boolean; detail: Record<string, unknown> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: (await res.json()) as { ok: boolean; detail: Record<string, unknown> } };
}

function opsPortOf(cli: Cli): Promise<number> {
  return until(() => {
    const started = cli.lines().find((l) => typeof l.opsPort === 'number');
    return started ? (started.opsPort as number) : null;
  });
}

/** Waits (up to the bound derived from the period) for a 503 whose body names `reason`. */
async function unhealthyWithin(port: number, periodMs: number, reason: string) {
  return until(
    async () => {
      const h = await healthz(port);
      return h.status === 503 && JSON.stringify(h.body).includes(reason) ? h : null;
    },
    2 * periodMs + SLACK_MS,
    `503 naming ${reason}`,
  );
}

describe.skipIf(skipRedis)('/healthz of every service', () => {
  let rig: Rig | null = null;
  let cli: Cli | null = null;
  afterEach(async () => {
    // Redis back first, so that the service's stop does not wait out an outage.
    await rig?.server.restart();
    cli?.stop();
    await cli?.done;
    await rig?.close();
    rig = null;
    cli = null;
  });

  const env = (r: Rig) => ({
    ...r.env,
    SYMBOLS: 'BTCUSDT',
    APPLY_ALLOWLIST: 'BTCUSDT',
    APPLY_POLL_SEC: String(POLL_SEC),
    P33_POLL_SEC: String(POLL_SEC),
  });

  const cases: { command: string; periodMs: number; breaks: 'redis' | 'exchange' }[] = [
    { command: 'apply', periodMs: POLL_SEC * 1000, breaks: 'redis' },
    { command: 'governor', periodMs: GOVERNOR_HEARTBEAT_MS, breaks: 'exchange' },
    { command: 'position-brain', periodMs: POLL_SEC * 1000, breaks: 'exchange' },
    { command: 'all', periodMs: POLL_SEC * 1000, breaks: 'redis' },
  ];

  for (const c of cases) {
    it(`when ${c.command}'s ${c.breaks} stops answering then /healthz turns 503 naming it within twice the period`, async () => {
      rig = await startCliRig({ BTCUSDT: 0.1 });
      cli = runCli([c.command], env(rig));
      const port = await opsPortOf(cli);
      await until(async () => (await healthz(port)).status === 200, 2 * c.periodMs + SLACK_MS, '200');
      if (c.breaks === 'redis') await rig.server.stop();
      else await rig.paper.close();
      const h = await unhealthyWithin(port, c.periodMs, `${c.breaks}_unreachable`);
      expect(h.body.ok).toBe(false);
      // `all` reports each of its services under its name.
      const reported =
        c.command === 'all'
          ? Object.values(h.body.detail).flatMap(
              (s) => (s as { detail: { reasons: string[] } }).detail.reasons,
            )
          : (h.body.detail.reasons as string[]);
      expect(reported, JSON.stringify(h.body)).toContain(`${c.breaks}_unreachable`);
    });
  }

  for (const command of ['apply', 'all']) {
    it(`when Redis is down at boot then ${command} waits for it (503 saying so) and starts once it is up`, async () => {
      rig = await startCliRig({ BTCUSDT: 0.1 });
      await rig.server.stop();
      const port = await freePort();
      cli = runCli([command], { ...env(rig), APPLY_METRICS_PORT: String(port) });
      const running = cli;
      await until(() => running.lines().find((l) => String(l.msg).includes('waiting for Redis')));
      const waiting = await healthz(port);
      expect(waiting.status).toBe(503);
      expect(waiting.body.detail).toMatchObject({
        state: 'waiting_for_redis',
        reasons: ['redis_unreachable'],
      });
      await rig.server.restart();
      await until(() => running.lines().find((l) => l.msg === `${command} started`), 20_000, 'started');
      await until(async () => (await healthz(port)).status === 200, 2 * POLL_SEC * 1000 + SLACK_MS, '200');
      // The attempts that failed left no metric registered twice.
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    });
  }

  it('when a service stops then its exit is clean and its heartbeat names its own mode and exchange host', async () => {
    rig = await startCliRig({ BTCUSDT: 0.1 });
    cli = runCli(['position-brain'], env(rig));
    const store = rig.store;
    const key = await until(
      async () =>
        (await store.scanKeys(store.keys.heartbeat('p33', '*'), { count: 100, limit: 100 })).keys[0],
    );
    const hb = await store.hgetall(key);
    expect(hb).toMatchObject({
      service: 'position-brain',
      mode: 'testnet',
      exchange_host: new URL(rig.paper.url).host,
      pid: String(process.pid),
    });
    expect(JSON.stringify(hb)).not.toContain('paper-secret');
    expect(await store.client.ttl(key)).toBeGreaterThan(0);
  });
});
