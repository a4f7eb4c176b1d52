/**
 * The Store contract: one suite, run against both adapters (redis-store.test.ts,
 * memory-store.test.ts), so they cannot drift apart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyChange, LedgerWriteRequest, Store } from '../../src/store/port.js';
import { p33ContractCases } from './contract-p33.js';
import { type StoreFactory, type StoreUnderTest } from './harness.js';
import { until } from '../helpers/wait.js';

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let t: StoreUnderTest;
    let s: Store;
    beforeEach(async () => {
      t = await factory();
      s = t.store;
    });
    afterEach(async () => {
      await s.close();
      await t.cleanup?.();
    });
    const k = (name: string) => `${s.keys.prefix}${name}`;

    it('when strings are set, read and deleted then values and counts match', async () => {
      expect(await s.set(k('a'), '1')).toBe(true);
      expect(await s.set(k('a'), '2', { nx: true })).toBe(false);
      expect(await s.get(k('a'))).toBe('1');
      expect(await s.set(k('b'), 'x', { nx: true })).toBe(true);
      expect(await s.mget([k('a'), k('none'), k('b')])).toEqual(['1', null, 'x']);
      expect(await s.exists(k('a'))).toBe(true);
      expect(await s.del([k('a'), k('b'), k('none')])).toBe(2);
      expect(await s.get(k('a'))).toBeNull();
      expect(await s.exists(k('a'))).toBe(false);
    });

    it('when a key has a TTL then pttl reports it and the key is gone after it', async () => {
      await s.set(k('ttl'), 'v', { ttlSec: 1 });
      await s.set(k('forever'), 'v');
      const left = await s.pttl(k('ttl'));
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(1000);
      expect(await s.pttl(k('forever'))).toBe(-1);
      expect(await s.pttl(k('absent'))).toBe(-2);
      await t.advance(1100);
      expect(await s.get(k('ttl'))).toBeNull();
      expect(await s.pttl(k('ttl'))).toBe(-2);
    });

    it('when a hash is written with a TTL then hgetall returns every field and pttl is set', async () => {
      await s.hset(k('h'), { a: '1', b: '' }, 60);
      await s.hset(k('h'), { b: '2' });
      expect(await s.hgetall(k('h'))).toEqual({ a: '1', b: '2' });
      expect(await s.pttl(k('h'))).toBeGreaterThan(59_000);
      expect(await s.hgetall(k('nohash'))).toEqual({});
    });

    it('when a hash created with a TTL is updated then the update keeps its TTL, and creating one sets it', async () => {
      await s.hset(k('intent'), { state: 'sending', at: '1' }, 60);
      await s.hupdate(k('intent'), { state: 'filled', order_id: '7' }, 6000);
      expect(await s.hgetall(k('intent'))).toEqual({ state: 'filled', at: '1', order_id: '7' });
      const kept = await s.pttl(k('intent'));
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThanOrEqual(60_000); // not reset to 6000 s
      // Absent (expired, deleted): the update creates it, and never without a TTL.
      await s.hupdate(k('gone'), { state: 'unknown' }, 60);
      expect(await s.pttl(k('gone'))).toBeGreaterThan(59_000);
    });

    it('when entries are added then ranges, reverse ranges and length follow the ids', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await s.xadd(k('st'), { n: String(i), e: '' }));
      for (const id of ids) expect(id).toMatch(/^\d+-\d+$/);
      expect(new Set(ids).size).toBe(5);
      const all = await s.xrange(k('st'), '-', '+');
      expect(all.map((e) => e.id)).toEqual(ids);
      expect(all[0]!.fields).toEqual({ n: '0', e: '' });
      expect((await s.xrevrange(k('st'), '+', '-', 2)).map((e) => e.fields.n)).toEqual(['4', '3']);
      expect((await s.xrange(k('st'), ids[1]!, ids[2]!)).map((e) => e.fields.n)).toEqual(['1', '2']);
      expect(await s.xlen(k('st'))).toBe(5);
      expect(await s.xlen(k('nostream'))).toBe(0);
    });

    it('when entries exceed MAXLEN ~ then the stream is trimmed near the bound', async () => {
      await Promise.all(Array.from({ length: 600 }, (_, i) => s.xadd(k('cap'), { i: String(i) }, 100)));
      const len = await s.xlen(k('cap'));
      expect(len).toBeGreaterThanOrEqual(100);
      expect(len).toBeLessThan(300);
      const newest = await s.xrevrange(k('cap'), '+', '-', 1);
      expect(newest[0]!.fields.i).toBe('599');
    });

    it('when a group reads, acks and re-reads its pending then delivery follows Redis', async () => {
      await s.createGroup(k('g'), 'grp', '$');
      await s.createGroup(k('g'), 'grp', '$');
      const a = await s.xadd(k('g'), { n: '1' });
      const b = await s.xadd(k('g'), { n: '2' });
      const got = await s.readGroup(k('g'), 'grp', 'c1', { count: 10, blockMs: 0 });
      expect(got.map((e) => e.id)).toEqual([a, b]);
      expect(await s.readGroup(k('g'), 'grp', 'c1', { count: 10, blockMs: 0 })).toEqual([]);
      let [info] = await s.groups(k('g'));
      expect(info).toMatchObject({ name: 'grp', consumers: 1, pending: 2, lastDeliveredId: b, lag: 0 });
      expect(await s.ack(k('g'), 'grp', [a])).toBe(1);
      expect(await s.ack(k('g'), 'grp', [a])).toBe(0);
      expect((await s.readOwnPending(k('g'), 'grp', 'c1', 10)).map((e) => e.id)).toEqual([b]);
      expect(await s.readOwnPending(k('g'), 'grp', 'c2', 10)).toEqual([]);
      await s.xadd(k('g'), { n: '3' });
      [info] = await s.groups(k('g'));
      expect(info).toMatchObject({ pending: 1, lag: 1 });
      expect(await s.groups(k('nogroups'))).toEqual([]);
    });

    it('when consumers read and ack then XINFO CONSUMERS reports their pending and idle time', async () => {
      await s.createGroup(k('ci'), 'grp', '$');
      await s.xadd(k('ci'), { n: '1' });
      const [a] = await s.readGroup(k('ci'), 'grp', 'c1', { count: 1, blockMs: 0 });
      await s.xadd(k('ci'), { n: '2' });
      await s.readGroup(k('ci'), 'grp', 'c2', { count: 5, blockMs: 0 });
      await t.advance(60);
      await s.ack(k('ci'), 'grp', [a!.id]);
      const infos = (await s.consumers(k('ci'), 'grp')).sort((x, y) => x.name.localeCompare(y.name));
      expect(infos.map((c) => [c.name, c.pending])).toEqual([
        ['c1', 0],
        ['c2', 1],
      ]);
      for (const c of infos) expect(c.idleMs).toBeGreaterThanOrEqual(50);
      expect(await s.consumers(k('ci'), 'nogroup')).toEqual([]);
      expect(await s.consumers(k('nostream'), 'grp')).toEqual([]);
    });

    it('when a group is created at 0 then existing entries are delivered', async () => {
      await s.xadd(k('old'), { n: '1' });
      await s.createGroup(k('old'), 'g0', '0');
      expect(await s.readGroup(k('old'), 'g0', 'c', { count: 5, blockMs: 0 })).toHaveLength(1);
    });

    it('when a consumer blocks then an xadd on the shared connection wakes it', async () => {
      await s.createGroup(k('blk'), 'grp', '$');
      const reading = s.readGroup(k('blk'), 'grp', 'c1', { count: 1, blockMs: 10_000 });
      await t.advance(30);
      const id = await s.xadd(k('blk'), { n: '1' });
      const got = await reading;
      expect(got.map((e) => e.id)).toEqual([id]);
    });

    it('when entries stay unacked past minIdle then autoClaim moves them to the claimer', async () => {
      await s.createGroup(k('ac'), 'grp', '$');
      const a = await s.xadd(k('ac'), { n: '1' });
      const b = await s.xadd(k('ac'), { n: '2' });
      await s.readGroup(k('ac'), 'grp', 'dead', { count: 10, blockMs: 0 });
      expect(await s.autoClaim(k('ac'), 'grp', 'live', 60_000, 10)).toEqual([]);
      await t.advance(60);
      const claimed = await s.autoClaim(k('ac'), 'grp', 'live', 40, 1);
      expect(claimed.map((e) => e.id)).toEqual([a]);
      expect((await s.autoClaim(k('ac'), 'grp', 'live', 40, 10)).map((e) => e.id)).toEqual([b]);
      expect((await s.readOwnPending(k('ac'), 'grp', 'live', 10)).map((e) => e.id)).toEqual([a, b]);
      expect(await s.readOwnPending(k('ac'), 'grp', 'dead', 10)).toEqual([]);
      expect(await s.autoClaim(k('ac'), 'grp', 'other', 40, 10)).toEqual([]);
    });

    it('when publishOnce runs twice for one marker then one entry is written', async () => {
      const id = await s.publishOnce(k('pub'), 300, k('ps'), { plan_id: 'p1', x: '' }, 10_000);
      expect(id).toMatch(/^\d+-\d+$/);
      expect(await s.publishOnce(k('pub'), 300, k('ps'), { plan_id: 'p1' }, 10_000)).toBeNull();
      const entries = await s.xrange(k('ps'), '-', '+');
      expect(entries).toEqual([{ id, fields: { plan_id: 'p1', x: '' } }]);
      expect(await s.pttl(k('pub'))).toBeGreaterThan(299_000);
    });

    it('when permits are consumed then every script code behaves as documented', async () => {
      const keys = [k('permit:g'), k('permit:p')];
      const receipt = k('receipt');
      await s.set(keys[0]!, '{"granted":true}', { ttlSec: 60 });
      const missing = await s.consumePermits(keys, receipt, 'tok', 600);
      expect(missing.kind).toBe('missing');
      if (missing.kind !== 'missing') return;
      expect(missing.ttlMs[0]).toBeGreaterThan(59_000);
      expect(missing.ttlMs[1]).toBe(-2);
      expect(await s.get(keys[0]!)).toBe('{"granted":true}');
      expect(await s.exists(receipt)).toBe(false);
      const unread = await s.consumePermits(keys, receipt, 'tok', 600, { readTtl: false });
      expect(unread).toEqual({ kind: 'missing', ttlMs: [-3, -2] });

      await s.set(keys[1]!, '{"allow":true,"ü":"/"}');
      const first = await s.consumePermits(keys, receipt, 'tok', 600);
      expect(first).toEqual({
        kind: 'consumed',
        bodies: ['{"granted":true}', '{"allow":true,"ü":"/"}'],
        replayed: false,
      });
      expect(await s.mget(keys)).toEqual([null, null]);
      expect(await s.pttl(receipt)).toBeGreaterThan(599_000);
      expect(await s.consumePermits(keys, receipt, 'tok', 600)).toEqual({ ...first, replayed: true });
      expect(await s.consumePermits(keys, receipt, 'other', 600)).toEqual({ kind: 'consumed_elsewhere' });
    });

    it('when a listener is removed then only the remaining listener hears later writes', async () => {
      const heardA: KeyChange[] = [];
      const heardB: KeyChange[] = [];
      const offA = await s.onKeyChange(s.keys.permitPattern(), (c) => heardA.push(c));
      const offB = await s.onKeyChange(s.keys.permitPattern(), (c) => heardB.push(c));
      const key1 = s.keys.governorPermit('plan1');
      await s.set(key1, 'x', { ttlSec: 60 });
      await s.set(k('unrelated'), 'x');
      await until(() => heardA.some((c) => c.key === key1 && c.event === 'set'), 5000, 'first set event');
      await offA();
      const key2 = s.keys.p33Permit('plan2');
      await s.set(key2, 'y');
      await s.del([key1]);
      await until(() => heardB.some((c) => c.key === key1 && c.event === 'del'), 5000, 'del event on B');
      expect(heardA.some((c) => c.key === key2)).toBe(false);
      expect(heardB.some((c) => c.key === key2 && c.event === 'set')).toBe(true);
      expect([...heardA, ...heardB].some((c) => c.key === k('unrelated'))).toBe(false);
      await offB();
      expect(s.notificationsActive()).toBe(true);
    });

    it('when a listener names its keys then it hears only those keys, beside pattern-wide listeners', async () => {
      const mine: KeyChange[] = [];
      const all: KeyChange[] = [];
      const key1 = s.keys.governorPermit('named1');
      const key2 = s.keys.p33Permit('named1');
      const other = s.keys.governorPermit('named2');
      const offMine = await s.onKeyChange(s.keys.permitPattern(), (c) => mine.push(c), {
        keys: [key1, key2],
      });
      const offAll = await s.onKeyChange(s.keys.permitPattern(), (c) => all.push(c));
      await s.set(other, 'x');
      await s.set(key2, 'y');
      await s.del([key1, key2]);
      await until(() => mine.some((c) => c.key === key2 && c.event === 'del'), 5000, 'del of the named key');
      await until(
        () => all.filter((c) => c.event !== 'expire').length >= 3,
        5000,
        'every event on the pattern-wide listener',
      );
      expect(mine.map((c) => `${c.event} ${c.key}`)).toEqual([`set ${key2}`, `del ${key2}`]);
      expect(all.some((c) => c.key === other && c.event === 'set')).toBe(true);
      await offMine();
      await s.set(key1, 'z');
      await until(() => all.some((c) => c.key === key1), 5000, 'later write on the pattern-wide listener');
      expect(mine).toHaveLength(2);
      await offAll();
    });

    it('when a plan is published then a published result, an existing dedupe key or marker stop it as the script says', async () => {
      const stream = k('plans');
      const req = (id: string, execute: boolean) => ({
        resultMarkerKey: k(`result:${id}`),
        dedupe: execute ? { key: k(`dedupe:${id}`), value: '1769300000', ttlSec: 600 } : null,
        markerKey: k(`published:${id}`),
        markerTtlSec: 300,
        stream,
        fields: { plan_id: id, decision: execute ? 'EXECUTE' : 'SKIP' },
        maxLen: 100,
      });
      const first = await s.publishPlan(req('p1', true));
      expect(first).toMatchObject({ kind: 'published', dedupeSet: true });
      expect(await s.get(k('dedupe:p1'))).toBe('1769300000');
      expect(await s.pttl(k('dedupe:p1'))).toBeGreaterThan(599_000);
      expect(await s.pttl(k('published:p1'))).toBeGreaterThan(299_000);
      // Decided EXECUTE before: nothing written, the caller decides.
      expect(await s.publishPlan(req('p1', true))).toEqual({ kind: 'duplicate' });
      // Not EXECUTE: no dedupe; the marker holds the second entry back.
      expect(await s.publishPlan(req('p1', false))).toEqual({ kind: 'exists', dedupeSet: false });
      expect(await s.publishPlan(req('p2', false))).toMatchObject({ kind: 'published', dedupeSet: false });
      expect(await s.exists(k('dedupe:p2'))).toBe(false);
      // A plan whose marker expired but whose dedupe key is new: set, not appended.
      await s.set(k('published:p3'), '1');
      expect(await s.publishPlan(req('p3', true))).toEqual({ kind: 'exists', dedupeSet: true });
      // Its result is out: nothing at all, whatever else.
      await s.set(k('result:p4'), '1');
      expect(await s.publishPlan(req('p4', true))).toEqual({ kind: 'handled' });
      expect(await s.exists(k('dedupe:p4'))).toBe(false);
      expect(await s.exists(k('published:p4'))).toBe(false);
      const entries = await s.xrange(stream, '-', '+');
      expect(entries.map((e) => e.fields)).toEqual([
        { plan_id: 'p1', decision: 'EXECUTE' },
        { plan_id: 'p2', decision: 'SKIP' },
      ]);
      if (first.kind === 'published') expect(entries[0]!.id).toBe(first.id);
    });

    it('when a batch of results is applied then each moves its ledger once, in order, and a conflict stops the batch', async () => {
      const cursor = k('ledger_cursor');
      const [a, b] = [k('ledger:A'), k('ledger:B')];
      await s.hset(a, { last_known_amt: '5' });
      const entries = [
        {
          entryId: '10-0',
          ledgerKey: a,
          expect: { kind: 'value', lastKnownAmt: '5' },
          fields: { last_known_amt: '4' },
        },
        { entryId: '11-0', ledgerKey: null, expect: { kind: 'any' }, fields: {} },
        {
          entryId: '12-0',
          ledgerKey: a,
          expect: { kind: 'value', lastKnownAmt: '4' },
          fields: { last_known_amt: '3' },
        },
        { entryId: '13-0', ledgerKey: b, expect: { kind: 'absent' }, fields: { last_known_amt: '-2' } },
      ] as const;
      const req = { cursorKey: cursor, ttlSec: 600, entries: entries.map((e) => ({ ...e, renewTtl: true })) };
      expect(await s.applyLedgerResults(req)).toEqual(['applied', 'applied', 'applied', 'applied']);
      expect(await s.hgetall(a)).toEqual({ last_known_amt: '3' });
      expect(await s.hgetall(b)).toEqual({ last_known_amt: '-2' });
      expect(await s.pttl(b)).toBeGreaterThan(599_000);
      expect(await s.get(cursor)).toBe('13-0');
      // Replayed: every entry is at or before the cursor.
      expect(await s.applyLedgerResults(req)).toEqual(Array(4).fill('already_applied'));
      // A hand edit under the second entry: the first applies, the rest wait, the cursor stays there.
      await s.hset(b, { last_known_amt: '7' });
      const next = [
        {
          entryId: '14-0',
          ledgerKey: a,
          expect: { kind: 'value', lastKnownAmt: '3' },
          fields: { last_known_amt: '2' },
        },
        {
          entryId: '15-0',
          ledgerKey: b,
          expect: { kind: 'value', lastKnownAmt: '-2' },
          fields: { last_known_amt: '-1' },
        },
        {
          entryId: '16-0',
          ledgerKey: a,
          expect: { kind: 'value', lastKnownAmt: '2' },
          fields: { last_known_amt: '1' },
        },
      ] as const;
      const codes = await s.applyLedgerResults({
        cursorKey: cursor,
        ttlSec: 600,
        entries: next.map((e) => ({ ...e, renewTtl: true })),
      });
      expect(codes).toEqual(['applied', 'conflict']);
      expect(await s.get(cursor)).toBe('14-0');
      expect(await s.hgetall(a)).toEqual({ last_known_amt: '2' });
      expect(await s.hgetall(b)).toEqual({ last_known_amt: '7' });
      expect(await s.applyLedgerResults({ cursorKey: cursor, ttlSec: 600, entries: [] })).toEqual([]);
    });

    it('when a ledger write is told not to renew the TTL then the ledger keeps its TTL, unless the write creates it', async () => {
      const cursor = k('ttl_cursor');
      const c = k('ledger:C');
      const write = (entryId: string, expect: LedgerWriteRequest['expect'], amt: string, renewTtl: boolean) =>
        s.applyLedgerResults({
          cursorKey: cursor,
          ttlSec: 600,
          entries: [
            { entryId, ledgerKey: c, expect, fields: { last_known_amt: amt, updated_at: '1' }, renewTtl },
          ],
        });
      expect(await write('20-0', { kind: 'absent' }, '5', false)).toEqual(['applied']);
      expect(await s.pttl(c)).toBeGreaterThan(599_000); // created: TTL set all the same
      await s.hset(c, {}, 100); // an EXPIRE by hand
      expect(await write('21-0', { kind: 'value', lastKnownAmt: '5' }, '4', false)).toEqual(['applied']);
      expect(await s.pttl(c)).toBeLessThanOrEqual(100_000);
      expect(await write('22-0', { kind: 'value', lastKnownAmt: '4' }, '3', true)).toEqual(['applied']);
      expect(await s.pttl(c)).toBeGreaterThan(599_000);
      expect(await s.hgetall(c)).toEqual({ last_known_amt: '3', updated_at: '1' });
    });

    it('when ledgers are seeded then only the absent ones are written, with their TTL', async () => {
      const [a, b, c] = [k('seed:A'), k('seed:B'), k('seed:C')];
      await s.hset(b, { last_known_amt: 'hand' });
      const ledgers = [a, b, c].map((ledgerKey, i) => ({
        ledgerKey,
        fields: { last_known_amt: String(i), seeded_at: '1' },
      }));
      expect(await s.seedLedgers({ ledgers, ttlSec: 600 })).toEqual([true, false, true]);
      expect(await s.hgetall(a)).toEqual({ last_known_amt: '0', seeded_at: '1' });
      expect(await s.hgetall(b)).toEqual({ last_known_amt: 'hand' });
      expect(await s.pttl(c)).toBeGreaterThan(599_000);
      expect(await s.pttl(b)).toBe(-1);
      // Every ledger there: nothing written.
      expect(await s.seedLedgers({ ledgers, ttlSec: 600 })).toEqual([false, false, false]);
      expect(await s.hgetall(a)).toEqual({ last_known_amt: '0', seeded_at: '1' });
    });

    it('when a watched key expires then an expired event is delivered', async () => {
      const heard: KeyChange[] = [];
      const off = await s.onKeyChange(`${s.keys.prefix}exp:*`, (c) => heard.push(c));
      await s.set(k('exp:1'), 'v', { ttlSec: 1 });
      await t.advance(1100);
      await until(
        () => heard.some((c) => c.key === k('exp:1') && c.event === 'expired'),
        5000,
        'expired event',
      );
      await off();
    });

    it('when keys are scanned by pattern then live matches are listed up to the limit', async () => {
      for (let i = 0; i < 30; i++) await s.set(k(`scan:${i}`), 'v');
      await s.set(k('scan:gone'), 'v', { ttlSec: 1 });
      await s.set(k('other:1'), 'v');
      await t.advance(1100);
      const all = await s.scanKeys(k('scan:*'), { count: 7, limit: 1000 });
      expect(all.complete).toBe(true);
      expect(all.keys.sort()).toEqual(Array.from({ length: 30 }, (_, i) => k(`scan:${i}`)).sort());
      const cut = await s.scanKeys(k('scan:*'), { count: 7, limit: 10 });
      expect(cut.complete).toBe(false);
      expect(new Set(cut.keys).size).toBe(10);
      for (const key of cut.keys) expect(key.startsWith(k('scan:'))).toBe(true);
      expect(await s.scanKeys(k('none:*'), { count: 7, limit: 10 })).toEqual({ keys: [], complete: true });
    });

    it('when asked for server time then it is a plausible epoch in ms', async () => {
      const ms = await s.serverTimeMs();
      expect(ms).toBeGreaterThan(1_600_000_000_000);
    });

    p33ContractCases(() => ({ s, t }));
  });
}
