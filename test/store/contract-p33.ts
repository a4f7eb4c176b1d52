/**
 * The Store contract's cases for P3.3's reservations (hdel, hgetallInOrder, grantCloseQty),
 * registered inside storeContract (contract.ts), so both adapters run them.
 */
import { expect, it } from 'vitest';
import type { GrantCloseQtyRequest, Store } from '../../src/store/port.js';
import type { StoreUnderTest } from './harness.js';

export function p33ContractCases(get: () => { s: Store; t: StoreUnderTest }): void {
  const k = (name: string) => `${get().s.keys.prefix}${name}`;
  const grant = (id: string, over: Partial<GrantCloseQtyRequest> = {}): GrantCloseQtyRequest => ({
    decisionKey: k(`decided:${id}`),
    permitKey: k(`permit:${id}`),
    reservationKey: k('reserved:BTCUSDT'),
    markerValue: 'allow',
    markerTtlSec: 3600,
    permitBody: `{"allow":true,"plan":"${id}"}`,
    permitTtlSec: 60,
    expectSeq: '',
    field: `plan:${id}`,
    value: `{"qty":"5","at":1,"until":66}`,
    grantedAt: '1.5',
    dropFields: [],
    reservationTtlSec: 600,
    ...over,
  });

  it('when hash fields are deleted then hdel counts the ones that existed, and an emptied hash is gone', async () => {
    const { s } = get();
    await s.hset(k('hd'), { a: '1', b: '2', c: '3' }, 60);
    expect(await s.hdel(k('hd'), ['a', 'x'])).toBe(1);
    expect(await s.hgetall(k('hd'))).toEqual({ b: '2', c: '3' });
    expect(await s.hdel(k('hd'), [])).toBe(0);
    expect(await s.hdel(k('nohash'), ['a'])).toBe(0);
    expect(await s.hdel(k('hd'), ['b', 'c'])).toBe(2);
    expect(await s.exists(k('hd'))).toBe(false);
  });

  it('when hashes are read in order then each key gets its own fields, {} when absent', async () => {
    const { s } = get();
    await s.hset(k('o1'), { a: '1' });
    await s.hset(k('o3'), { c: '3' });
    expect(await s.hgetallInOrder([k('o1'), k('o2'), k('o3')])).toEqual([{ a: '1' }, {}, { c: '3' }]);
    expect(await s.hgetallInOrder([])).toEqual([]);
  });

  it('when a close is granted then permit, marker and reservation are written as the script says', async () => {
    const { s } = get();
    expect(await s.grantCloseQty(grant('g1'))).toBe('granted');
    expect(await s.get(k('permit:g1'))).toBe('{"allow":true,"plan":"g1"}');
    expect(await s.get(k('decided:g1'))).toBe('allow');
    const permitTtl = await s.pttl(k('permit:g1'));
    expect(permitTtl).toBeGreaterThan(59_000);
    expect(permitTtl).toBeLessThanOrEqual(60_000);
    expect(await s.pttl(k('decided:g1'))).toBeGreaterThan(3_599_000);
    expect(await s.hgetall(k('reserved:BTCUSDT'))).toEqual({
      seq: '1',
      granted_at: '1.5',
      'plan:g1': '{"qty":"5","at":1,"until":66}',
    });
    expect(await s.pttl(k('reserved:BTCUSDT'))).toBeGreaterThan(599_000);
    // Another plan read the hash before that grant: refused, nothing written.
    expect(await s.grantCloseQty(grant('g2'))).toBe('conflict');
    expect(await s.exists(k('permit:g2'))).toBe(false);
    expect(await s.exists(k('decided:g2'))).toBe(false);
    expect((await s.hgetall(k('reserved:BTCUSDT'))).seq).toBe('1');
    // Read again: granted, seq bumped, lapsed fields deleted, the TTL set anew.
    const again = grant('g2', {
      expectSeq: '1',
      grantedAt: '9',
      dropFields: ['plan:g1'],
      reservationTtlSec: 100,
    });
    expect(await s.grantCloseQty(again)).toBe('granted');
    expect(await s.hgetall(k('reserved:BTCUSDT'))).toEqual({
      seq: '2',
      granted_at: '9',
      'plan:g2': '{"qty":"5","at":1,"until":66}',
    });
    const hashTtl = await s.pttl(k('reserved:BTCUSDT'));
    expect(hashTtl).toBeGreaterThan(0);
    expect(hashTtl).toBeLessThanOrEqual(100_000);
  });

  it('when the plan is already decided then grantCloseQty writes nothing, whatever the seq', async () => {
    const { s } = get();
    await s.set(k('decided:d1'), 'no_position');
    expect(await s.grantCloseQty(grant('d1'))).toBe('already_decided');
    expect(await s.grantCloseQty(grant('d1', { expectSeq: '5' }))).toBe('already_decided');
    await s.set(k('permit:d2'), '{}');
    expect(await s.grantCloseQty(grant('d2'))).toBe('already_decided');
    expect(await s.exists(k('reserved:BTCUSDT'))).toBe(false);
    expect(await s.get(k('decided:d1'))).toBe('no_position');
  });

  it('when the reservation hash expired since it was read then the grant conflicts', async () => {
    const { s, t } = get();
    expect(await s.grantCloseQty(grant('e1', { reservationTtlSec: 1 }))).toBe('granted');
    await t.advance(1100);
    expect(await s.grantCloseQty(grant('e2', { expectSeq: '1' }))).toBe('conflict');
    expect(await s.grantCloseQty(grant('e2', { expectSeq: '' }))).toBe('granted');
    expect((await s.hgetall(k('reserved:BTCUSDT'))).seq).toBe('1');
  });
}
