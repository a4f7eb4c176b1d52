import { describe, expect, it } from 'vitest';
import { governorBlockReason, permitWaitReason } from '../../src/domain/governor-block.js';
import { MAX_PERMIT_BODY_CHARS } from '../../src/domain/permits.js';

const record = (o: Record<string, unknown>) => JSON.stringify(o);

describe('the governor block record as apply reads it', () => {
  it("when the record is the governor's then its reason is named", () => {
    const r = record({ reason: 'daily_limit_exceeded', timestamp: 1769904003.072, symbol: 'BTCUSDT' });
    expect(governorBlockReason(r, 'BTCUSDT')).toBe('daily_limit_exceeded');
    // As the fleet's Python writes it (spaces after separators), and without a symbol.
    expect(governorBlockReason('{"reason": "hourly_limit_exceeded", "timestamp": 1.5}', 'BTCUSDT')).toBe(
      'hourly_limit_exceeded',
    );
  });

  it.each([
    ['no record', null],
    ['not JSON', 'daily_limit_exceeded'],
    ['a JSON array', '["daily_limit_exceeded"]'],
    ['no reason', record({ timestamp: 1, symbol: 'BTCUSDT' })],
    ['a reason that is not a string', record({ reason: 7, symbol: 'BTCUSDT' })],
    ['a reason that is not snake_case', record({ reason: 'daily limit; rm -rf', symbol: 'BTCUSDT' })],
    ['an empty reason', record({ reason: '', symbol: 'BTCUSDT' })],
    ['a reason too long for a result', record({ reason: 'a'.repeat(65), symbol: 'BTCUSDT' })],
    ['another symbol', record({ reason: 'daily_limit_exceeded', symbol: 'ETHUSDT' })],
    ['a symbol that is not a string', record({ reason: 'daily_limit_exceeded', symbol: 1 })],
    ['a record over the body limit', record({ reason: 'x', pad: 'p'.repeat(MAX_PERMIT_BODY_CHARS) })],
  ])('when the record has %s then no reason is named', (_what, raw) => {
    expect(governorBlockReason(raw, 'BTCUSDT')).toBeNull();
  });

  it('when a reason is named then it follows the wait reason after a colon, else the wait reason stands', () => {
    expect(permitWaitReason('missing_governor', 'daily_limit_exceeded')).toBe(
      'missing_governor:daily_limit_exceeded',
    );
    expect(permitWaitReason('missing_both', 'hourly_limit_exceeded')).toBe(
      'missing_both:hourly_limit_exceeded',
    );
    expect(permitWaitReason('missing_governor', null)).toBe('missing_governor');
  });
});
