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
  it('when cluster mode then one plan id shares one hash tag', () => {
    const k = keySpace({ cluster: true, prefix: 'x:' });
    expect(k.governorPermit('abc')).toBe('x:quantum:permit:{abc}');
    expect(k.p33Permit('abc')).toBe('x:quantum:permit:p33:{abc}');
  });
});
