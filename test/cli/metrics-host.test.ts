/**
 * METRICS_HOST: where every service's ops server (/metrics, /healthz) listens. Unset: the
 * default all-interfaces address; a bad value is refused at start, naming the variable.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApplyConfig, loadGovernorConfig, loadP33Config } from '../../src/ops/config.js';
import { loadAllConfig } from '../../src/ops/config/all.js';
import { configError } from '../helpers/config-error.js';
import { freePort, skipRedis } from '../helpers/redis-server.js';
import { runCli, startCliRig } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

const ipv6Loopback = await new Promise<boolean>((resolve) => {
  const s = createServer();
  s.once('error', () => resolve(false));
  s.listen(0, '::1', () => s.close(() => resolve(true)));
});

const LOADERS = [loadApplyConfig, loadGovernorConfig, loadP33Config, loadAllConfig];

describe('METRICS_HOST', () => {
  it('when unset then no host is configured (the ops server keeps its default)', () => {
    for (const load of LOADERS) expect(load({}).metricsHost).toBeNull();
  });

  it('when set to an address or a host name then that is the listen address', () => {
    for (const load of LOADERS) {
      expect(load({ METRICS_HOST: '127.0.0.1' }).metricsHost).toBe('127.0.0.1');
      expect(load({ METRICS_HOST: '::1' }).metricsHost).toBe('::1');
      expect(load({ METRICS_HOST: 'metrics.internal' }).metricsHost).toBe('metrics.internal');
    }
  });

  it('when set to something that is not an address then the error names METRICS_HOST', () => {
    for (const load of LOADERS) {
      for (const bad of ['', 'http://127.0.0.1', '127.0.0.1:9000', 'two words']) {
        const err = configError(() => load({ METRICS_HOST: bad }));
        expect(err.problems.map((p) => p.variable)).toEqual(['METRICS_HOST']);
      }
    }
  });
});

describe.skipIf(skipRedis)('METRICS_HOST through the CLI', () => {
  let rig: Awaited<ReturnType<typeof startCliRig>>;
  beforeAll(async () => {
    rig = await startCliRig({ BTCUSDT: 0.1 });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('when METRICS_HOST is bad then the service exits 2 naming it', async () => {
    const cli = runCli(['apply'], { ...rig.env, METRICS_HOST: 'not a host' });
    expect(await cli.done).toBe(2);
    expect(cli.err.join('')).toContain('METRICS_HOST');
  });

  it.skipIf(!ipv6Loopback)(
    'when METRICS_HOST is ::1 then /healthz answers there and not on 127.0.0.1',
    async () => {
      const port = await freePort();
      const cli = runCli(['apply'], { ...rig.env, METRICS_HOST: '::1', APPLY_METRICS_PORT: String(port) });
      try {
        await until(() => cli.lines().find((l) => l.msg === 'apply started'));
        expect((await fetch(`http://[::1]:${port}/healthz`)).status).toBeLessThan(600);
        await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
      } finally {
        cli.stop();
        expect(await cli.done).toBe(0);
      }
    },
  );
});
