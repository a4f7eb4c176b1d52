import { describe, expect, it } from 'vitest';
import { likelySymbol } from '../../src/domain/symbol-typo.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

describe('the configured symbol an unknown one likely meant', () => {
  it.each([
    ['btcusdt', 'BTCUSDT'], // case
    [' ETHUSDT', 'ETHUSDT'], // stray space
    ['BTCUSTD', 'BTCUSDT'], // two letters swapped
    ['BTCUSD', 'BTCUSDT'], // one missing
    ['BTCUSDTT', 'BTCUSDT'], // one added
    ['SOLUSDC', 'SOLUSDT'], // one wrong
    ['solusdc', 'SOLUSDT'],
  ])('when the proposal says %j then it names %s', (typo, meant) => {
    expect(likelySymbol(typo, SYMBOLS)).toBe(meant);
  });

  it.each([['DOGEUSDT'], ['BTC'], ['XRPUSDC'], ['']])(
    'when %j is no slip of a configured symbol then none',
    (s) => {
      expect(likelySymbol(s, SYMBOLS)).toBeNull();
    },
  );

  it('when two configured symbols are one slip away then none is named', () => {
    expect(likelySymbol('BTCUSDX', ['BTCUSDT', 'BTCUSDC'])).toBeNull();
  });
});
