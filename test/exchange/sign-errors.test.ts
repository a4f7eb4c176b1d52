import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from '../../src/exchange/binance/sign.js';
import { CODE_REASONS, isOrderOutcomeUnknown, reasonFor } from '../../src/exchange/binance/errors.js';
import { toRules } from '../../src/exchange/binance/reads.js';
import { addDecimal, compareDecimal, isMultipleOf, roundToStep } from '../../src/domain/decimal.js';

const SECRET = '2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9';
const MESSAGE =
  'symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943';
const EXPECTED = '3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9';

describe('signing', () => {
  it("when signing Binance's documented example then the digest is Binance's", () => {
    expect(signPayload(SECRET, MESSAGE)).toBe(EXPECTED);
  });
  it('when one byte of the payload changes then verification fails', () => {
    expect(verifySignature(SECRET, MESSAGE, EXPECTED)).toBe(true);
    expect(verifySignature(SECRET, MESSAGE.replace('9000', '9001'), EXPECTED)).toBe(false);
    expect(verifySignature(SECRET, MESSAGE, EXPECTED.slice(1))).toBe(false);
  });
  it('when query and body are concatenated without a separator then that is what gets signed', () => {
    const query = 'symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC';
    const body = 'quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943';
    expect(signPayload(SECRET, query + body)).not.toBe(signPayload(SECRET, `${query}&${body}`));
  });
});

describe('error mapping', () => {
  it.each([
    [-2022, 'reduce_only_rejected'],
    [-1111, 'precision_invalid'],
    [-4164, 'notional_too_small'],
    [-2019, 'margin_insufficient'],
    [-4116, 'duplicate_client_order_id'],
    [-1021, 'timestamp_outside_recv_window'],
    [-1022, 'invalid_signature'],
    [-2015, 'invalid_api_key'],
    [-1121, 'invalid_symbol'],
    [-4015, 'invalid_client_order_id'],
    [-4120, 'use_algo_endpoint'],
    [-2013, 'order_not_found'],
    [-2024, 'position_not_sufficient'],
    [-4003, 'quantity_not_positive'],
    [-1015, 'too_many_orders'],
    [-1102, 'bad_parameter'],
    [-4118, 'reduce_only_over_open_orders'],
    [-4002, 'price_above_max_price'],
    [-4007, 'stop_price_above_max_price'],
    [-4013, 'price_below_min_price'],
    [-4014, 'price_not_on_tick'],
  ])('when code %i arrives with a 400 then the reason is %s', (code, reason) => {
    expect(reasonFor(400, code)).toBe(reason);
  });
  it('when the status is 429, 418 or 403 then the status decides, whatever the code', () => {
    expect(reasonFor(429, -1003)).toBe('rate_limited');
    expect(reasonFor(418, -1003)).toBe('ip_banned');
    expect(reasonFor(403, null)).toBe('waf_blocked');
  });
  it('when a 5XX has no known code then the reason is exchange_unavailable', () => {
    expect(reasonFor(502, null)).toBe('exchange_unavailable');
    expect(reasonFor(503, -1001)).toBe('exchange_unavailable');
  });
  it('when a code is not in the table then the reason still names the code', () => {
    expect(reasonFor(400, -9999)).toBe('binance_error_9999');
  });
  it('when the reasons are listed then every one is short snake_case and distinct per code', () => {
    for (const reason of Object.values(CODE_REASONS)) expect(reason).toMatch(/^[a-z][a-z0-9_]{2,40}$/);
    expect(new Set(Object.values(CODE_REASONS)).size).toBe(Object.keys(CODE_REASONS).length);
  });
  it('when an order answer is 503 unknown, -1006, -1007 or a bare 502 then the outcome is unknown', () => {
    expect(
      isOrderOutcomeUnknown(503, -1000, 'Unknown error, please check your request or try again later.'),
    ).toBe(true);
    expect(isOrderOutcomeUnknown(400, -1006, 'x')).toBe(true);
    expect(isOrderOutcomeUnknown(400, -1007, 'x')).toBe(true);
    expect(isOrderOutcomeUnknown(502, null, '')).toBe(true);
    expect(isOrderOutcomeUnknown(503, -1001, 'Service Unavailable.')).toBe(false);
    expect(isOrderOutcomeUnknown(400, -2022, 'ReduceOnly Order is rejected.')).toBe(false);
  });
});

describe('exchange filters and decimals', () => {
  it('when LOT_SIZE and MARKET_LOT_SIZE differ then the stricter of the two is used', () => {
    const rules = toRules('XUSDT', [
      { filterType: 'PRICE_FILTER', tickSize: '0.10', minPrice: '1', maxPrice: '9' } as never,
      { filterType: 'LOT_SIZE', minQty: '0.001', maxQty: '1000', stepSize: '0.001' } as never,
      { filterType: 'MARKET_LOT_SIZE', minQty: '0.01', maxQty: '120', stepSize: '0.01' } as never,
      { filterType: 'MIN_NOTIONAL', notional: '100' } as never,
    ]);
    expect(rules).toEqual({
      symbol: 'XUSDT',
      stepSize: '0.01',
      minQty: '0.01',
      maxQty: '120',
      tickSize: '0.10',
      minPrice: '1',
      maxPrice: '9',
      minNotional: '100',
    });
  });
  it('when PRICE_FILTER bounds are 0 then they are kept as 0 (Binance: that bound is disabled)', () => {
    const rules = toRules('XUSDT', [
      { filterType: 'PRICE_FILTER', tickSize: '0.10', minPrice: '0', maxPrice: '0' } as never,
      { filterType: 'LOT_SIZE', minQty: '0.001', maxQty: '1000', stepSize: '0.001' } as never,
    ]);
    expect(rules).toMatchObject({ tickSize: '0.10', minPrice: '0', maxPrice: '0' });
  });
  it('when PRICE_FILTER bounds are missing, negative or inverted then no rules are produced', () => {
    const lot = { filterType: 'LOT_SIZE', minQty: '0.001', maxQty: '1000', stepSize: '0.001' } as never;
    const priced = (extra: Record<string, string>) =>
      toRules('XUSDT', [{ filterType: 'PRICE_FILTER', tickSize: '0.10', ...extra } as never, lot]);
    expect(priced({ maxPrice: '9' })).toBeNull();
    expect(priced({ minPrice: '1' })).toBeNull();
    expect(priced({ minPrice: '-1', maxPrice: '9' })).toBeNull();
    expect(priced({ minPrice: '1', maxPrice: '-9' })).toBeNull();
    expect(priced({ minPrice: '10', maxPrice: '9' })).toBeNull();
    expect(priced({ minPrice: '10', maxPrice: '0' })).toMatchObject({ minPrice: '10', maxPrice: '0' });
  });
  it('when a filter is missing or garbage then no rules are produced', () => {
    expect(
      toRules('X', [{ filterType: 'LOT_SIZE', minQty: 'a', maxQty: '1', stepSize: '1' } as never]),
    ).toBeNull();
  });
  it('when rounding and comparing decimals then no float error creeps in', () => {
    expect(isMultipleOf('0.3', '0.1')).toBe(true);
    expect(isMultipleOf('0.0015', '0.001')).toBe(false);
    expect(compareDecimal('0.010', '0.01')).toBe(0);
    expect(addDecimal('0.3', '-0.1')).toBe('0.2');
    expect(roundToStep('60123.456', '0.10', 'down')).toBe('60123.4');
    expect(roundToStep('60123.456', '0.10', 'up')).toBe('60123.5');
    expect(roundToStep('150', '0.01', 'up')).toBe('150');
  });
});
