/**
 * One user data stream per account: adapters of one account in one process share one socket and
 * one listenKey, and the key is not DELETEd while any of them still follows it. Two stream
 * clients with registries of their own stand in for two processes of one account: one's DELETE
 * ends the other's stream, which fails closed to REST, POSTs again, reconnects and reconciles.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BinanceExchange, BinanceExchangeOptions } from '../../../src/exchange/binance/index.js';
import { ListenKeys } from '../../../src/exchange/binance/listen-key.js';
import { processStreams, StreamRegistry } from '../../../src/exchange/binance/shared-stream.js';
import { Transport } from '../../../src/exchange/binance/transport.js';
import type { UserStreamMetrics } from '../../../src/exchange/binance/user-stream.js';
import { startPaperExchange, type PaperExchange } from '../../../src/exchange/paper/index.js';
import { systemClock } from '../../../src/ops/clock.js';
import { until } from '../../helpers/wait.js';
import { adapterFor } from '../adapter-setup.js';
import { KEY, SECRET } from '../paper-client.js';

let px: PaperExchange;
const open: BinanceExchange[] = [];
const count = (what: string) => px.state.requestCounts.get(what) ?? 0;
const positionReads = () => count('GET /fapi/v3/positionRisk');

function liveGauge(): UserStreamMetrics & { on: boolean; handovers: string[] } {
  const m = {
    on: false,
    handovers: [] as string[],
    event: () => undefined,
    connect: () => undefined,
    live: (on: boolean) => void (m.on = on),
    handover: (cause: string) => void m.handovers.push(cause),
  };
  return m;
}

function follow(extra: Partial<BinanceExchangeOptions['userStream']> = {}, streams?: StreamRegistry) {
  const ex = adapterFor(px, {
    userStream: {
      wsBaseUrl: `${px.wsUrl}/private`,
      silenceMs: 600,
      pingMs: 100,
      backoff: { minMs: 20, maxMs: 200 },
      ...extra,
    },
    ...(streams ? { streams } : {}),
  }).ex;
  open.push(ex);
  return ex;
}
const live = (ex: BinanceExchange) => until(() => ex.userStream!.asOf(), 8000, 'stream live');

beforeEach(async () => {
  px = await startPaperExchange({ apiKey: KEY, apiSecret: SECRET, positions: { BTCUSDT: 0.5 } });
});

afterEach(async () => {
  for (const ex of open.splice(0)) await ex.close();
  await px.close();
});

describe('one user data stream per account in a process', () => {
  it('two adapters share one socket and one listenKey; the first to close neither DELETEs nor stops it', async () => {
    const ma = liveGauge();
    const mb = liveGauge();
    const a = follow({ metrics: ma, closeKeyOnStop: true });
    const b = follow({ metrics: mb, closeKeyOnStop: true });
    expect(b.userStream).toBe(a.userStream);
    await live(a);
    expect(px.userStream.size).toBe(1);
    expect(count('POST /fapi/v1/listenKey')).toBe(1);
    expect(a.userStream!.stats.reconciliations).toBe(1);
    // Both services' gauges say live: each registry sees the one stream.
    expect([ma.on, mb.on]).toEqual([true, true]);
    const account = { apiKey: KEY, baseUrl: px.url, wsBaseUrl: `${px.wsUrl}/private` };
    expect(processStreams.users(account)).toBe(2);

    await a.close();
    expect(count('DELETE /fapi/v1/listenKey')).toBe(0);
    expect(px.userStream.size).toBe(1);
    expect(b.userStream!.asOf()).not.toBeNull();
    expect(processStreams.users(account)).toBe(1);
    // The survivor still reads positions from the stream, at no weight.
    const reads = positionReads();
    expect((await b.position('BTCUSDT', { maxAgeMs: 1000 })).amountText).toBe('0.5');
    expect(positionReads()).toBe(reads);

    // The last one out closes the socket (and, told to, the key).
    await b.close();
    expect(count('DELETE /fapi/v1/listenKey')).toBe(1);
    expect(processStreams.users(account)).toBe(0);
    await until(() => px.userStream.size === 0, 3000, 'socket closed');
  });

  it("a closed adapter's listeners hear nothing more; the other adapter's still do", async () => {
    const a = follow();
    const b = follow();
    await live(a);
    const heard: string[] = [];
    a.accountStream!.onPosition((p) => heard.push(`a ${p.amountText}`));
    b.accountStream!.onPosition((p) => heard.push(`b ${p.amountText}`));
    await a.close();
    await fetch(`${px.url}/paper/positions`, { method: 'POST', body: JSON.stringify({ BTCUSDT: 0.25 }) });
    await until(() => heard.length > 0, 3000, 'a position pushed');
    expect(heard).toEqual(['b 0.25']);
  });
});

describe('two processes of one account (a registry each)', () => {
  it("one's DELETE at shutdown: the other fails closed to REST, POSTs again, reconnects and reconciles", async () => {
    const gone = follow({ closeKeyOnStop: true }, new StreamRegistry());
    const m = liveGauge();
    const survivor = follow({ metrics: m }, new StreamRegistry());
    expect(survivor.userStream).not.toBe(gone.userStream);
    await live(gone);
    await live(survivor);
    expect(px.userStream.size).toBe(2);
    const key = px.state.listenKeys.view()!.listenKey;
    const posts = count('POST /fapi/v1/listenKey');
    const reconciled = survivor.userStream!.stats.reconciliations;
    // The reconciliation after the reconnect is held back: the stream must not be trusted meanwhile.
    px.faults.set({ endpoint: '/fapi/v1/openOrders', timeout: true });

    await gone.close();
    expect(count('DELETE /fapi/v1/listenKey')).toBe(1);
    await until(() => survivor.userStream!.asOf() === null, 3000, 'survivor untrusted');
    expect(m.handovers).toContain('disconnected');
    // Meanwhile REST serves: a position read costs weight again and sees the change.
    await fetch(`${px.url}/paper/positions`, { method: 'POST', body: JSON.stringify({ BTCUSDT: 0.3 }) });
    const reads = positionReads();
    expect((await survivor.position('BTCUSDT', { maxAgeMs: 1000 })).amountText).toBe('0.3');
    expect(positionReads()).toBeGreaterThan(reads);
    await until(() => count('POST /fapi/v1/listenKey') > posts, 5000, 'POST again');
    await until(() => m.handovers.includes('reconcile_failed'), 5000, 'reconciliation held back');
    expect(survivor.userStream!.asOf()).toBeNull();

    px.faults.clear();
    await live(survivor);
    expect(survivor.userStream!.stats.reconciliations).toBeGreaterThan(reconciled);
    expect(px.state.listenKeys.view()!.listenKey).not.toBe(key);
    expect(px.userStream.size).toBe(1);
    expect(m.on).toBe(true);
    const after = positionReads();
    expect((await survivor.position('BTCUSDT', { maxAgeMs: 1000 })).amountText).toBe('0.3');
    expect(positionReads()).toBe(after);
  });

  it('a keepalive that extends a key other than ours says ours is gone', async () => {
    const t = new Transport({
      baseUrl: px.url,
      apiKey: KEY,
      apiSecret: SECRET,
      recvWindow: 5000,
      timeoutMs: 2000,
      clock: systemClock,
    });
    const keys = new ListenKeys(t);
    const ours = await keys.create();
    expect(await keys.keepalive(ours)).toBe('extended');
    // Another process DELETEs it and a third POSTs: the account's key is now another one.
    expect(await keys.close()).toBeNull();
    const theirs = await keys.create();
    expect(theirs).not.toBe(ours);
    expect(await keys.keepalive(ours)).toBe('gone');
    expect(await keys.keepalive(theirs)).toBe('extended');
    t.close();
  });
});
