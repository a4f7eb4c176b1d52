/**
 * The paper exchange for a person running it by hand: any symbol given with its step and mark
 * (`--symbol`, `--symbols-file`), an unknown symbol's error naming the listed ones, fired faults
 * leaving `GET /paper/faults` (counted ones showing what remains), and `GET /paper/orders`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  customMarket,
  parseMarketsFile,
  parseMarketText,
  startPaperExchange,
  type PaperExchange,
} from '../../src/exchange/paper/index.js';
import { runCli } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { KEY, raw, reduceOnlySell, SECRET } from './paper-client.js';

let px: PaperExchange;
beforeAll(async () => {
  const pepe = parseMarketText('PEPEUSDT:step=1:mark=0.0000123');
  if (!pepe.ok) throw new Error(pepe.reason);
  px = await startPaperExchange({
    apiKey: KEY,
    apiSecret: SECRET,
    markets: [pepe.market, customMarket({ symbol: 'WIFUSDT', step: '0.1', mark: 2.5 })],
    positions: { PEPEUSDT: 1_000_000, WIFUSDT: 40 },
  });
});
afterAll(() => px.close());

describe('paper exchange: symbols given on the command line', () => {
  it('when a symbol is given with its step and mark then it is listed, priced and trades on that step', async () => {
    const info = await raw(px.url, 'GET', '/fapi/v1/exchangeInfo', {}, { signed: false });
    const pepe = (
      info.body as { symbols: Array<{ symbol: string; filters: Array<Record<string, string>> }> }
    ).symbols.find((s) => s.symbol === 'PEPEUSDT');
    expect(pepe?.filters.find((f) => f.filterType === 'LOT_SIZE')).toMatchObject({
      stepSize: '1',
      minQty: '1',
    });
    const mark = await raw(px.url, 'GET', '/fapi/v1/premiumIndex', { symbol: 'PEPEUSDT' }, { signed: false });
    expect(mark.body).toMatchObject({ symbol: 'PEPEUSDT', markPrice: '0.0000123' });

    expect(
      (await raw(px.url, 'POST', '/fapi/v1/order', reduceOnlySell('WIFUSDT', '0.15', 'w-1'))).body,
    ).toMatchObject({
      code: -1111,
    });
    const filled = await raw(px.url, 'POST', '/fapi/v1/order', reduceOnlySell('WIFUSDT', '10.5', 'w-2'));
    expect(filled.body).toMatchObject({ status: 'FILLED', executedQty: '10.5', avgPrice: '2.5' });
    expect(px.state.positions.get('WIFUSDT')).toBe('29.5');
  });

  it('when a symbol is unknown then -1121 names the symbols the paper exchange lists', async () => {
    const r = await raw(px.url, 'POST', '/fapi/v1/order', reduceOnlySell('FOOUSDT', '1', 'f-1'));
    expect(r.body).toMatchObject({ code: -1121 });
    const msg = (r.body as { msg: string }).msg;
    expect(msg).toMatch(/^Invalid symbol\./);
    for (const s of ['BTCUSDT', 'SOLUSDT', 'PEPEUSDT', 'WIFUSDT']) expect(msg).toContain(s);
    expect(() => px.state.setPosition('FOOUSDT', 1)).toThrow(/known: BTCUSDT, .*PEPEUSDT/);
  });

  it('when a spec or a file is malformed then the reason names the part that is wrong', () => {
    const bad = (text: string) => {
      const r = parseMarketText(text);
      return r.ok ? 'accepted' : r.reason;
    };
    expect(bad('PEPEUSDT:step=1')).toMatch(/mark/);
    expect(bad('PEPEUSDT:step=0:mark=1')).toMatch(/step.*positive/);
    expect(bad('PEPEUSDT:step=1e-3:mark=1')).toMatch(/step/);
    expect(bad('pepe:step=1:mark=1')).toMatch(/symbol/);
    expect(bad('PEPEUSDT:step=1:mark=-2')).toMatch(/mark/);
    expect(bad('PEPEUSDT:size=1:mark=2')).toMatch(/size=1/);
    expect(parseMarketsFile('{"symbol":"X"}', 'm.json')).toMatchObject({
      ok: false,
      reason: /m\.json: expected a JSON array/,
    });
    expect(parseMarketsFile('[{"symbol":"AAAUSDT","step":"1"}]', 'm.json')).toMatchObject({
      ok: false,
      reason: /m\.json\[0\]: mark/,
    });
    expect(parseMarketsFile('not json', 'm.json')).toMatchObject({ ok: false, reason: /not JSON/ });
  });

  it('when the CLI gets --symbol and --symbols-file then both are listed with their marks; a bad file exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qa-paper-'));
    try {
      const file = join(dir, 'markets.json');
      writeFileSync(file, JSON.stringify([{ symbol: 'AAAUSDT', step: '0.01', mark: 12.5 }]));
      const env = { PAPER_EXCHANGE_API_KEY: KEY, PAPER_EXCHANGE_API_SECRET: SECRET };
      const cli = runCli(
        [
          'paper-exchange',
          '--port',
          '0',
          '--symbol',
          'BBBUSDT:step=1:mark=0.5',
          '--symbols-file',
          file,
          '--positions',
          'BBBUSDT=30',
        ],
        env,
      );
      const url = await until(
        () => /listening on (\S+) /.exec(cli.out.join(''))?.[1],
        8000,
        'paper exchange up',
      );
      const state = (await (await fetch(`${url}/paper/state`)).json()) as {
        marks: Record<string, number>;
        positions: Record<string, string>;
      };
      cli.stop();
      expect(await cli.done).toBe(0);
      expect(state.marks).toMatchObject({ AAAUSDT: 12.5, BBBUSDT: 0.5, BTCUSDT: 60000 });
      expect(state.positions.BBBUSDT).toBe('30');

      writeFileSync(file, '[{"symbol":"AAAUSDT","step":"abc","mark":1}]');
      const bad = runCli(['paper-exchange', '--port', '0', '--symbols-file', file], env);
      expect(await bad.done).toBe(2);
      expect(bad.err.join('')).toMatch(/--symbols-file .*markets\.json\[0\]: step/);
      const badFlag = runCli(['paper-exchange', '--port', '0', '--symbol', 'CCCUSDT:step=1'], env);
      expect(await badFlag.done).not.toBe(0);
      expect(badFlag.err.join('')).toMatch(/--symbol.*mark/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('paper exchange: faults and orders over HTTP', () => {
  it('when a counted fault fires then GET /paper/faults shows what remains, and drops it once used up', async () => {
    const post = await fetch(`${px.url}/paper/faults`, {
      method: 'POST',
      body: JSON.stringify([
        { endpoint: '/fapi/v1/time', status5xx: 502, count: 2, skip: 1 },
        { endpoint: '/fapi/v1/ping', latencyMs: 1 },
      ]),
    });
    expect(await post.json()).toEqual([
      { endpoint: '/fapi/v1/time', status5xx: 502, count: 2, skip: 1, remaining: 2 },
      { endpoint: '/fapi/v1/ping', latencyMs: 1 },
    ]);
    const faults = async () => (await (await fetch(`${px.url}/paper/faults`)).json()) as unknown[];
    const time = async () => (await raw(px.url, 'GET', '/fapi/v1/time', {}, { signed: false })).status;
    expect(await time()).toBe(200);
    expect((await faults())[0]).toMatchObject({ skip: 0, remaining: 2 });
    expect(await time()).toBe(502);
    expect((await faults())[0]).toMatchObject({ remaining: 1 });
    expect(await time()).toBe(502);
    expect(await faults()).toEqual([{ endpoint: '/fapi/v1/ping', latencyMs: 1 }]);
    expect(await time()).toBe(200);
    px.faults.clear();
  });

  it('when orders were placed then GET /paper/orders lists them, oldest first', async () => {
    await raw(px.url, 'POST', '/fapi/v1/order', reduceOnlySell('PEPEUSDT', '1000', 'p-1'));
    const orders = (await (await fetch(`${px.url}/paper/orders`)).json()) as Array<{ clientOrderId: string }>;
    expect(orders.map((o) => o.clientOrderId)).toEqual(px.state.orders.map((o) => o.clientOrderId));
    expect(orders[orders.length - 1]).toMatchObject({
      clientOrderId: 'p-1',
      symbol: 'PEPEUSDT',
      status: 'FILLED',
    });
  });
});
