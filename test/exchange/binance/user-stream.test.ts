import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../../src/ops/clock.js';
import type { OrderFill, Position } from '../../../src/exchange/port.js';
import { UserStream, type Handover, type Reconciliation } from '../../../src/exchange/binance/user-stream.js';
import { sleep, until } from '../../helpers/wait.js';

function position(symbol: string, amountText: string): Position {
  return {
    symbol,
    amount: Number(amountText),
    amountText,
    entryPrice: 100,
    markPrice: 101,
    unrealizedPnl: 0,
    leverage: 5,
    updateTime: 0,
  };
}

const accountUpdate = (E: number, symbol: string, pa: string) =>
  JSON.stringify({
    e: 'ACCOUNT_UPDATE',
    E,
    T: E,
    a: { m: 'ORDER', B: [], P: [{ s: symbol, pa, ep: '100', up: '0', ps: 'BOTH' }] },
  });

const orderUpdate = (E: number, c: string, X: string, z: string) =>
  JSON.stringify({
    e: 'ORDER_TRADE_UPDATE',
    E,
    T: E,
    o: {
      s: 'BTCUSDT',
      c,
      S: 'SELL',
      o: 'MARKET',
      q: '0.010',
      ap: '100.5',
      x: 'TRADE',
      X,
      i: 7,
      l: z,
      z,
      R: true,
      ps: 'BOTH',
    },
  });

/** A WebSocket server standing in for Binance's stream host, and the REST side as plain functions. */
class Rig {
  server!: WebSocketServer;
  sockets: WebSocket[] = [];
  paths: string[] = [];
  keys = 0;
  keepaliveAnswer: 'extended' | 'gone' = 'extended';
  deleted = 0;
  reconcileAt = 1_000;
  positions: Position[] = [position('BTCUSDT', '0.030')];
  openOrders: OrderFill[] = [];
  failReconcile = 0;
  /** Held open while set: the reconciliation waits for it. */
  gate: Promise<void> | null = null;
  handovers: Handover[] = [];
  events: Array<[string, string]> = [];
  stream!: UserStream;

  async start(
    opts: {
      autoPong?: boolean;
      silenceMs?: number;
      keepaliveMs?: number;
      maxConnectionMs?: number;
      closeKeyOnStop?: boolean;
    } = {},
  ) {
    this.server = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: opts.autoPong ?? true });
    this.server.on('connection', (ws, req) => {
      this.sockets.push(ws);
      this.paths.push(req.url ?? '');
    });
    await new Promise<void>((r) => this.server.once('listening', () => r()));
    const port = (this.server.address() as AddressInfo).port;
    this.stream = new UserStream({
      wsBaseUrl: `ws://127.0.0.1:${port}/private/`,
      clock: systemClock,
      silenceMs: opts.silenceMs ?? 400,
      pingMs: 50,
      keepaliveMs: opts.keepaliveMs ?? 60_000,
      maxConnectionMs: opts.maxConnectionMs,
      closeKeyOnStop: opts.closeKeyOnStop,
      backoff: { minMs: 20, maxMs: 100 },
      listenKeys: {
        create: async () => `key${++this.keys}`,
        keepalive: async () => this.keepaliveAnswer,
        close: async () => {
          this.deleted++;
          return null;
        },
      },
      reconcile: async (): Promise<Reconciliation> => {
        if (this.gate) await this.gate;
        if (this.failReconcile > 0) {
          this.failReconcile--;
          throw new Error('positionRisk unavailable');
        }
        return { at: this.reconcileAt, positions: this.positions, openOrders: this.openOrders, hedged: [] };
      },
      metrics: {
        event: (type, outcome) => this.events.push([type, outcome]),
        handover: (cause) => this.handovers.push(cause),
        connect: () => undefined,
        live: () => undefined,
      },
    });
    this.stream.start();
  }

  last(): WebSocket {
    return this.sockets[this.sockets.length - 1]!;
  }

  live(): Promise<number> {
    return until(() => this.stream.asOf(), 5000, 'stream live');
  }

  async stop() {
    await this.stream.stop();
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('UserStream', () => {
  let rig: Rig;
  beforeEach(() => {
    rig = new Rig();
  });
  afterEach(async () => {
    await rig.stop();
  });

  it('connects to <base>/ws/<listenKey>, reconciles by REST once, then is trusted', async () => {
    await rig.start();
    expect(rig.stream.asOf()).toBeNull();
    await rig.live();
    expect(rig.paths).toEqual(['/private/ws/key1']);
    expect(rig.stream.stats.reconciliations).toBe(1);
    expect(rig.stream.view.position('BTCUSDT')?.amountText).toBe('0.030');
    // Covered by an account-wide read and not listed: flat.
    expect(rig.stream.view.position('ETHUSDT')?.amount).toBe(0);
  });

  it('follows ACCOUNT_UPDATE and drops an event older than the position it has', async () => {
    await rig.start();
    await rig.live();
    rig.last().send(accountUpdate(2_000, 'BTCUSDT', '0.020'));
    await until(() => rig.stream.view.position('BTCUSDT')?.amountText === '0.020', 2000, 'update');
    rig.last().send(accountUpdate(1_500, 'BTCUSDT', '0.030'));
    rig.last().send(accountUpdate(2_500, 'ETHUSDT', '-1.5'));
    await until(() => rig.stream.view.position('ETHUSDT')?.amountText === '-1.5', 2000, 'eth');
    expect(rig.stream.view.position('BTCUSDT')?.amountText).toBe('0.020');
    expect(rig.events).toContainEqual(['ACCOUNT_UPDATE', 'stale']);
  });

  it('keeps an order at its final state: a late PARTIALLY_FILLED does not undo FILLED', async () => {
    await rig.start();
    await rig.live();
    rig.last().send(orderUpdate(3_000, 'qa-p1-close', 'FILLED', '0.010'));
    rig.last().send(orderUpdate(3_000, 'qa-p1-close', 'PARTIALLY_FILLED', '0.004'));
    await until(() => rig.events.filter(([t]) => t === 'ORDER_TRADE_UPDATE').length === 2, 2000, 'orders');
    expect(rig.stream.view.order('qa-p1-close')).toMatchObject({
      status: 'FILLED',
      executedQty: '0.010',
      avgPrice: '100.5',
    });
  });

  it('counts unknown and bad messages and stays live', async () => {
    await rig.start();
    await rig.live();
    rig.last().send('{"e":"MARGIN_CALL","E":5}');
    rig.last().send('{"e":"ACCOUNT_UPDATE","E":5}');
    rig.last().send('not json');
    await until(() => rig.events.length >= 3, 2000, 'events counted');
    expect(rig.events).toEqual([
      ['MARGIN_CALL', 'unknown_event'],
      ['ACCOUNT_UPDATE', 'bad_event'],
      ['none', 'not_json'],
    ]);
    expect(rig.stream.asOf()).not.toBeNull();
  });

  it('hands over to REST on a disconnect, and reconciles again before it is trusted', async () => {
    await rig.start();
    await rig.live();
    rig.gate = new Promise(() => undefined);
    rig.last().terminate();
    await until(() => rig.stream.asOf() === null, 2000, 'not trusted');
    await until(() => rig.sockets.length === 2, 3000, 'reconnected');
    await sleep(100);
    // Connected again but the reconciliation has not answered: still not trusted.
    expect(rig.stream.state).toBe('reconciling');
    expect(rig.stream.asOf()).toBeNull();
    rig.gate = null;
    rig.last().terminate();
    await rig.live();
    expect(rig.handovers.filter((h) => h === 'disconnected').length).toBeGreaterThanOrEqual(2);
    expect(rig.stream.stats.reconciliations).toBe(2);
  });

  it('keeps an event that arrived during the reconciliation when it is newer than the read', async () => {
    await rig.start();
    let open!: () => void;
    rig.gate = new Promise((r) => (open = r));
    await until(() => rig.stream.state === 'reconciling', 3000, 'reconciling');
    rig.last().send(accountUpdate(1_200, 'BTCUSDT', '0.010'));
    rig.last().send(accountUpdate(900, 'ETHUSDT', '5'));
    await until(() => rig.events.length === 2, 2000, 'events in');
    rig.gate = null;
    open();
    await rig.live();
    expect(rig.stream.view.position('BTCUSDT')?.amountText).toBe('0.010');
    // Older than the read (E 900 < 1000), and the read found it flat.
    expect(rig.stream.view.position('ETHUSDT')?.amount).toBe(0);
  });

  it('is not trusted once silent past its bound, and reconnects', async () => {
    await rig.start({ autoPong: false, silenceMs: 300 });
    await rig.live();
    await until(() => rig.handovers.includes('silent'), 3000, 'silent');
    await until(() => rig.sockets.length >= 2, 3000, 'reconnect after silence');
  });

  it('stays trusted on pongs alone, its view as of the last answered ping', async () => {
    await rig.start({ silenceMs: 300 });
    const first = await rig.live();
    await sleep(700);
    const later = rig.stream.asOf();
    expect(later).not.toBeNull();
    expect(later!).toBeGreaterThan(first);
    expect(rig.handovers).toEqual([]);
  });

  it('on listenKeyExpired, POSTs again and connects with the new key', async () => {
    await rig.start();
    await rig.live();
    rig.last().send('{"e":"listenKeyExpired","E":"1736996475556","listenKey":"key1"}');
    await until(() => rig.paths.length === 2, 3000, 'new connection');
    expect(rig.paths[1]).toBe('/private/ws/key2');
    expect(rig.handovers).toContain('listen_key_expired');
    await rig.live();
  });

  it('on a keepalive answered -1125, POSTs again', async () => {
    rig.keepaliveAnswer = 'gone';
    await rig.start({ keepaliveMs: 200 });
    await until(() => rig.handovers.includes('listen_key_gone'), 3000, 'keepalive gone');
    await until(() => rig.paths.some((p) => p !== '/private/ws/key1'), 3000, 'new key');
  });

  it('reconnects ahead of the 24 h limit', async () => {
    await rig.start({ maxConnectionMs: 300 });
    await rig.live();
    await until(() => rig.handovers.includes('planned_reconnect'), 3000, 'planned');
    await until(() => rig.sockets.length >= 2, 3000, 'second connection');
  });

  it('retries a failed reconciliation and is not trusted meanwhile', async () => {
    rig.failReconcile = 2;
    await rig.start();
    await rig.live();
    expect(rig.handovers.filter((h) => h === 'reconcile_failed')).toHaveLength(2);
    expect(rig.stream.stats.reconciliations).toBe(1);
  });

  it('leaves the listenKey to lapse on stop: other processes of the account may use it', async () => {
    await rig.start();
    await rig.live();
    await rig.stream.stop();
    expect(rig.deleted).toBe(0);
    expect(rig.stream.asOf()).toBeNull();
  });

  it('DELETEs the listenKey on stop when told to (closeKeyOnStop)', async () => {
    await rig.start({ closeKeyOnStop: true });
    await rig.live();
    await rig.stream.stop();
    expect(rig.deleted).toBe(1);
    expect(rig.stream.asOf()).toBeNull();
  });
});
