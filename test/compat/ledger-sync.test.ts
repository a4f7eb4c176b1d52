/**
 * Swapping P3.3 from the fleet's to ours: the fleet's ledger can sit at 0.0 under an open
 * position. Ours names it (a deny context, a log line with the command to run, a gauge), and
 * `quantum-apply ledger sync` shows and, confirmed, seeds the ledgers from the exchange.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededLedgerFields } from '../../src/domain/position/ledger.js';
import { parseDec } from '../../src/domain/decimal.js';
import { runCli, startCliRig } from '../helpers/cli.js';
import { skipRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';
import { onRedisAndMemory, p33Rig, plan } from '../services/position-brain/harness.js';
import { RECORDED_POSITIONS } from './fixtures.js';

/** A ledger as the fleet's P3.3 leaves it: Python floats, no mark of ours. */
const fleetLedger = (amt: string) => ({
  last_known_amt: amt,
  last_order_id: '',
  last_result_plan_id: '',
  last_executed_qty: '0.0',
  last_side: '',
  updated_at: '1796626300',
});

onRedisAndMemory((name, newStore) => {
  describe(`our P3.3 on the fleet's ledger (${name})`, () => {
    it('when the inherited ledger is 0 under an open position then the deny says to sync, once, and the gauge shows it', async () => {
      const r = p33Rig(await newStore());
      r.exchange.setPosition('BTCUSDT', RECORDED_POSITIONS.BTCUSDT);
      await r.store.hset(r.store.keys.positionLedger('BTCUSDT'), fleetLedger('0.0'), 86400);
      await r.p33.snapshots.refresh();
      const gauge = async () => (await r.metrics.ledgerSyncNeeded.get()).values[0]?.value;
      for (let i = 0; i < 2; i++) {
        const p = plan({ symbol: 'BTCUSDT' });
        expect(await r.p33.evaluate(p)).toEqual({
          kind: 'denied',
          reason: 'reconcile_required_qty_mismatch',
        });
        const body = JSON.parse((await r.store.get(r.store.keys.p33Permit(p.plan_id!, 'BTCUSDT')))!);
        expect(body.context).toMatchObject({ ledger_sync_needed: true, ledger_amt: 0, exchange_amt: 0.5 });
      }
      const hints = r.log.lines().filter((l) => String(l.msg).includes('quantum-apply ledger sync'));
      expect(hints).toHaveLength(1);
      expect(hints[0]!.msg).toContain('quantum-apply ledger sync --symbol BTCUSDT --from-exchange --yes');
      expect(await gauge()).toBe(1);
      // What `ledger sync --from-exchange --yes` writes; the next plan is allowed.
      await r.store.hset(
        r.store.keys.positionLedger('BTCUSDT'),
        seededLedgerFields(parseDec('0.5')!, 0),
        86400,
      );
      expect(await r.p33.evaluate(plan({ symbol: 'BTCUSDT' }))).toMatchObject({ kind: 'allowed' });
      expect(await gauge()).toBe(0);
      await r.store.close();
    });

    it('when P3.3 starts on an inherited 0 ledger then it names it before any plan arrives', async () => {
      const r = p33Rig(await newStore());
      r.exchange.setPosition('BTCUSDT', RECORDED_POSITIONS.BTCUSDT);
      await r.store.hset(r.store.keys.positionLedger('BTCUSDT'), fleetLedger('0.0'), 86400);
      await r.store.hset(r.store.keys.positionLedger('SOLUSDT'), fleetLedger('0.0'), 86400);
      r.exchange.setPosition('SOLUSDT', 0); // flat: a 0 ledger is right there
      r.p33.start();
      try {
        const hint = await until(async () =>
          r.log.lines().find((l) => String(l.msg).includes('quantum-apply ledger sync')),
        );
        expect(hint).toMatchObject({ symbol: 'BTCUSDT', exchange_amt: 0.5 });
        const gauge = (await r.metrics.ledgerSyncNeeded.get()).values;
        expect(Object.fromEntries(gauge.map((v) => [v.labels.symbol, v.value]))).toEqual({
          BTCUSDT: 1,
          ETHUSDT: 0,
          SOLUSDT: 0,
        });
      } finally {
        await r.p33.stop();
        await r.store.close();
      }
    });

    it('when a ledger of ours holds 0 under an open position then it is a plain mismatch, no sync hint', async () => {
      const r = p33Rig(await newStore());
      await r.store.hset(
        r.store.keys.positionLedger('BTCUSDT'),
        seededLedgerFields(parseDec('0')!, 0),
        86400,
      );
      await r.p33.snapshots.refresh();
      const p = plan({ symbol: 'BTCUSDT' });
      expect(await r.p33.evaluate(p)).toMatchObject({ reason: 'reconcile_required_qty_mismatch' });
      const body = JSON.parse((await r.store.get(r.store.keys.p33Permit(p.plan_id!, 'BTCUSDT')))!);
      expect(body.context).not.toHaveProperty('ledger_sync_needed');
      expect(r.log.lines().some((l) => String(l.msg).includes('ledger sync'))).toBe(false);
      await r.store.close();
    });
  });
});

describe.skipIf(skipRedis)('quantum-apply ledger sync', () => {
  let rig: Awaited<ReturnType<typeof startCliRig>>;
  let env: Record<string, string>;
  const ledgerOf = async (s: string) => rig.store.hgetall(rig.store.keys.positionLedger(s));
  const run = async (...args: string[]) => {
    const c = runCli(['ledger', 'sync', ...args], env);
    return { code: await c.done, out: c.out.join(''), err: c.err.join('') };
  };

  beforeAll(async () => {
    rig = await startCliRig({ ...RECORDED_POSITIONS });
    env = { ...rig.env, P33_ALLOWLIST: 'BTCUSDT,ETHUSDT,SOLUSDT' };
    await rig.store.hset(rig.store.keys.positionLedger('BTCUSDT'), fleetLedger('0.0'));
    await rig.store.hset(rig.store.keys.positionLedger('ETHUSDT'), fleetLedger('-2.0'));
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('when run without flags then it shows each ledger beside the exchange and writes nothing', async () => {
    const r = await run();
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^BTCUSDT\s+0\.0\s+other \(fleet\?\)\s+0\.5\s+sync$/m);
    expect(r.out).toMatch(/^ETHUSDT\s+-2\.0\s+other \(fleet\?\)\s+-2\s+in_sync$/m);
    expect(r.out).toMatch(/^SOLUSDT\s+\(none\)\s+-\s+60\s+seed$/m);
    expect(r.out).toContain(
      'nothing written; to seed 2 ledger(s) from the exchange run: quantum-apply ledger sync --from-exchange --yes',
    );
    expect((await ledgerOf('BTCUSDT')).last_known_amt).toBe('0.0');
  });

  it('when --yes comes without --from-exchange then it is a usage error and nothing is written', async () => {
    const r = await run('--yes');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--from-exchange');
    expect((await ledgerOf('BTCUSDT')).last_known_amt).toBe('0.0');
  });

  it('when a symbol is not one then it is a usage error', async () => {
    expect((await run('--symbol', 'btc usdt')).code).toBe(2);
  });

  it('when confirmed for one symbol then only that ledger is seeded from the exchange, marked as ours', async () => {
    const r = await run('--symbol', 'BTCUSDT', '--from-exchange', '--yes', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      rows: [{ symbol: 'BTCUSDT', ledger: '0.0', writtenBy: 'other', exchange: '0.5', action: 'sync' }],
      written: ['BTCUSDT'],
    });
    expect(await ledgerOf('BTCUSDT')).toMatchObject({
      last_known_amt: '0.5',
      updated_at: '0',
      written_by: 'quantum-apply',
    });
    expect(await rig.store.pttl(rig.store.keys.positionLedger('BTCUSDT'))).toBeGreaterThan(86_000_000);
    expect(await ledgerOf('SOLUSDT')).toEqual({});
    const again = await run();
    expect(again.out).toMatch(/^BTCUSDT\s+0\.5\s+quantum-apply\s+0\.5\s+in_sync$/m);
  });

  it('when the exchange cannot be reached then it fails with exit 1 and writes nothing', async () => {
    const r = await runCli(['ledger', 'sync', '--from-exchange', '--yes'], {
      ...env,
      BINANCE_FUTURES_BASE_URL: 'http://127.0.0.1:1',
    });
    expect(await r.done).toBe(1);
    expect(r.err.join('')).toContain('quantum-apply ledger sync:');
    expect(await ledgerOf('SOLUSDT')).toEqual({});
  });
});
