import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countingVerdict } from '../../../src/domain/governor/gates.js';
import { ManualClock } from '../../../src/ops/clock.js';
import { GRANT_CODES, type GrantPermitRequest, type Store } from '../../../src/store/port.js';
import { DECIDE_CODES, parseGrantReply } from '../../../src/store/redis/authority-scripts.js';
import { luaDir } from '../../../src/store/redis/scripts.js';
import { skipRedis } from '../../helpers/redis-server.js';
import { memoryStore } from './harness.js';
import { usePrivateRedisStore } from '../../helpers/redis-store.js';

function headerCodes(file: string): string[] {
  const header = readFileSync(join(luaDir(), file), 'utf8').split(']]')[0]!;
  const out = header.split('Output')[1]!;
  return [...out.matchAll(/^\s+(?:\{)?'([a-z_]+)'/gm)].map((m) => m[1]!);
}

function request(store: Store, id: string, over: Partial<GrantPermitRequest>): GrantPermitRequest {
  const k = store.keys;
  return {
    decisionKey: k.authorityDecision('governor', id),
    permitKey: k.governorPermit(id),
    blockKey: k.governorBlock(id),
    execKey: k.governorExec('BTCUSDT'),
    dailyKey: k.governorDaily('BTCUSDT', '2026-01-25'),
    nowSec: 1_769_342_400,
    enforce: true,
    maxPerHour: 3,
    maxPer5Min: 2,
    amount: 10,
    cap: 5000,
    permitBody: '{"granted":true}',
    permitTtlSec: 60,
    blockTtlSec: 3600,
    symbol: 'BTCUSDT',
    execKeep: 100,
    historyTtlSec: 86400,
    renewHistoryTtl: true,
    ...over,
  };
}

describe('authority script headers', () => {
  it('when a Lua header lists a return code then the TypeScript side has its case, and back', () => {
    expect(headerCodes('grantPermit-5.lua').sort()).toEqual([...GRANT_CODES].sort());
    expect(headerCodes('decideOnce-3.lua').sort()).toEqual([...DECIDE_CODES].sort());
  });
  it('when a reply is outside the closed set then parsing throws instead of guessing', () => {
    expect(() => parseGrantReply(['granted_maybe', '0', '0', '0'])).toThrow();
    expect(() => parseGrantReply(null)).toThrow();
  });
});

describe.skipIf(skipRedis)('grantPermit: Lua, memory twin and the domain rule agree', () => {
  const { store: redis } = usePrivateRedisStore();

  it('when the same history, total and amount are given then all three reach the same decision', async () => {
    const now = 1_769_342_400;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.double({ min: now - 4000, max: now, noNaN: true }),
            // the window edges, where `>` and `>=` differ
            fc.constantFrom(now - 300, now - 3600, now - 299.5, now - 3599.5, now, NaN),
          ),
          {
            maxLength: 6,
          },
        ),
        fc.oneof(
          fc.constant(null),
          fc.double({ min: 0, max: 6000, noNaN: true }).map(String),
          fc.constant('junk'),
          fc.constant('4990'), // with an amount of 10: exactly the cap of 5000
        ),
        fc.oneof(fc.double({ min: 0, max: 3000, noNaN: true }), fc.constant(10)),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 3 }),
        async (history, total, amount, perHour, per5) => {
          n++;
          const mem = memoryStore(new ManualClock(now * 1000));
          const results: string[] = [];
          for (const store of [redis, mem] as Store[]) {
            const k = store.keys;
            await store.del([k.governorExec('BTCUSDT'), k.governorDaily('BTCUSDT', '2026-01-25')]);
            const texts = history.map((t) => String(t));
            if (store === redis) {
              if (texts.length) await redis.client.rpush(k.governorExec('BTCUSDT'), ...texts);
              if (total !== null) await redis.set(k.governorDaily('BTCUSDT', '2026-01-25'), total);
            } else {
              for (const t of [...texts].reverse()) await mem.lpushTrim(k.governorExec('BTCUSDT'), t, 100);
              if (total !== null) await mem.set(k.governorDaily('BTCUSDT', '2026-01-25'), total);
            }
            const out = await store.grantPermit(
              request(store, `eq${n}`, { nowSec: now, amount, maxPerHour: perHour, maxPer5Min: per5 }),
            );
            results.push(out.code);
          }
          const ts = countingVerdict({
            execTimestamps: history.map(String),
            dailyTotal: total,
            nowSec: now,
            enforce: true,
            limits: { maxExecPerHour: perHour, maxExecPer5Min: per5 },
            amount,
            cap: 5000,
          }).code;
          expect(results).toEqual([ts, ts]);
          await mem.close();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('when two grants race for the last slot then exactly one wins', async () => {
    const k = redis.keys;
    await redis.del([k.governorExec('BTCUSDT'), k.governorDaily('BTCUSDT', '2026-01-25')]);
    const outs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        redis.grantPermit(request(redis, `race${i}`, { maxPerHour: 100, maxPer5Min: 1 })),
      ),
    );
    expect(outs.filter((o) => o.code === 'granted')).toHaveLength(1);
    expect(outs.filter((o) => o.code === 'burst_limit_exceeded')).toHaveLength(9);
  });

  it('when grants pass the kept length then the list is trimmed to it and renewed, and the day keeps its first TTL', async () => {
    const clock = new ManualClock(1_769_342_400_000);
    const mem = memoryStore(clock);
    // Leaves both keys under 500 s to live: EXPIRE on Redis, the clock moved on in memory.
    const age = async (store: Store, keys: string[]) => {
      if (store !== redis) return void clock.advance(86_000_000);
      for (const key of keys) await redis.client.expire(key, 500);
    };
    for (const store of [redis, mem] as Store[]) {
      const k = store.keys;
      const list = k.governorExec('BTCUSDT');
      const day = k.governorDaily('BTCUSDT', '2026-01-25');
      await store.del([list, day]);
      const limits = { maxPerHour: 1000, maxPer5Min: 1000, execKeep: 3, amount: 1 };
      expect((await store.grantPermit(request(store, `keep0-${store.kind}`, limits))).code).toBe('granted');
      expect(await store.pttl(day)).toBeGreaterThan(86_000_000); // set when the day's key is created
      await age(store, [day, list]);
      for (let i = 1; i <= 4; i++) {
        const out = await store.grantPermit(
          request(store, `keep${i}-${store.kind}`, { ...limits, nowSec: 1_769_342_400 + i }),
        );
        expect(out.code).toBe('granted');
      }
      expect(await store.lrange(list, 0, -1)).toEqual(['1769342404', '1769342403', '1769342402']);
      expect(await store.pttl(list)).toBeGreaterThan(86_000_000); // renewed by every execution
      expect(await store.get(day)).toBe('5');
      const dayTtl = await store.pttl(day);
      expect(dayTtl).toBeGreaterThan(0);
      expect(dayTtl).toBeLessThanOrEqual(500_000); // counting keeps the TTL the day started with
    }
    await mem.close();
  });

  it('when a grant is told not to renew the history TTL then the list keeps its TTL, unless the grant creates it', async () => {
    const clock = new ManualClock(1_769_342_400_000);
    const mem = memoryStore(clock);
    for (const store of [redis, mem] as Store[]) {
      const list = store.keys.governorExec('ETHUSDT');
      await store.del([list]);
      const limits = { maxPerHour: 1000, maxPer5Min: 1000, execKey: list, renewHistoryTtl: false };
      expect((await store.grantPermit(request(store, `nr0-${store.kind}`, limits))).code).toBe('granted');
      expect(await store.pttl(list)).toBeGreaterThan(86_000_000); // created: TTL set all the same
      await store.hset(list, {}, 100); // no fields: an EXPIRE alone, by hand
      const ttlBefore = await store.pttl(list);
      expect(ttlBefore).toBeLessThanOrEqual(100_000);
      expect((await store.grantPermit(request(store, `nr1-${store.kind}`, limits))).code).toBe('granted');
      expect(await store.pttl(list)).toBeLessThanOrEqual(ttlBefore); // left alone
      const renew = { ...limits, renewHistoryTtl: true };
      expect((await store.grantPermit(request(store, `nr2-${store.kind}`, renew))).code).toBe('granted');
      expect(await store.pttl(list)).toBeGreaterThan(86_000_000);
      expect(await store.lrange(list, 0, -1)).toHaveLength(3);
    }
    await mem.close();
  });

  it('when the script cache is flushed then the next call still runs (EVALSHA falls back to EVAL)', async () => {
    await redis.client.script('FLUSH');
    const out = await redis.grantPermit(request(redis, 'flushed', { maxPerHour: 1000, maxPer5Min: 1000 }));
    expect(out.code).toBe('granted');
    expect(
      await redis.decideOnce({
        decisionKey: redis.keys.authorityDecision('governor', 'flushed'),
        recordKey: redis.keys.governorBlock('flushed'),
        guardKey: redis.keys.governorPermit('flushed'),
        markerValue: 'x',
        markerTtlSec: 10,
        body: '{}',
        ttlSec: 10,
      }),
    ).toBe(false);
  });
});
