import { describe, expect, it } from 'vitest';
import { keySpace } from '../../src/store/keys.js';

describe('keySpace', () => {
  it('when no options then keys are exactly the fleet names', () => {
    const k = keySpace();
    expect(k.governorPermit('abc')).toBe('quantum:permit:abc');
    expect(k.p33Permit('abc')).toBe('quantum:permit:p33:abc');
    expect(k.permit('governor', 'abc')).toBe(k.governorPermit('abc'));
    expect(k.permit('p33', 'abc')).toBe(k.p33Permit('abc'));
    expect(k.proposal('BTCUSDT')).toBe('quantum:harvest:proposal:BTCUSDT');
    expect(k.planStream()).toBe('quantum:stream:apply.plan');
    expect(k.governorDaily('BTCUSDT', '2026-01-25')).toBe('quantum:governor:daily:BTCUSDT:2026-01-25');
  });
  it("when cluster mode then a plan's keys share its symbol's hash tag and stream markers the stream's", () => {
    const k = keySpace({ cluster: true, prefix: 'x:' });
    expect(k.governorPermit('abc', 'BTCUSDT')).toBe('x:quantum:permit:{BTCUSDT}:abc');
    expect(k.p33Permit('abc', 'BTCUSDT')).toBe('x:quantum:permit:p33:{BTCUSDT}:abc');
    expect(k.governorExec('BTCUSDT')).toBe('x:quantum:governor:exec:{BTCUSDT}');
    expect(k.symbolLease('BTCUSDT')).toBe('x:quantum:apply:lease:{BTCUSDT}');
    expect(k.resultPublished('abc')).toBe(
      'x:quantum:apply:result_published:{x:quantum:stream:apply.result}:abc',
    );
    expect(k.positionLedger('BTCUSDT')).toBe('x:quantum:position:ledger:{x:ledger}:BTCUSDT');
    expect(k.ledgerCursor()).toBe('x:quantum:position:ledger_cursor:{x:ledger}');
    expect(() => k.orderIntent('abc')).toThrow(/orderIntent needs the plan's symbol/);
    expect(() => keySpace({ cluster: true, prefix: 'a{b}:' })).toThrow(/prefix/);
  });
  it("when P3.3 grants a close then its reservation hash shares the slot of the plan's permit and marker", () => {
    expect(keySpace().p33Reserved('BTCUSDT')).toBe('quantum:p33:reserved:BTCUSDT');
    const k = keySpace({ cluster: true, prefix: 'x:' });
    const tag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];
    expect(k.p33Reserved('BTCUSDT')).toBe('x:quantum:p33:reserved:{BTCUSDT}');
    expect(tag(k.p33Reserved('BTCUSDT'))).toBe(tag(k.p33Permit('abc', 'BTCUSDT')));
    expect(tag(k.p33Reserved('BTCUSDT'))).toBe(tag(k.authorityDecision('p33', 'abc', 'BTCUSDT')));
  });
});
