/**
 * grantCloseQty-3.lua: its header against the TypeScript codes, its reply parser, and the script
 * on a private Redis (script cache flushed, grants racing). Its behaviour on both adapters:
 * test/store/contract-p33.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRANT_CLOSE_CODES, type GrantCloseQtyRequest } from '../../src/store/port.js';
import { parseGrantCloseReply } from '../../src/store/redis/authority-scripts.js';
import { luaDir } from '../../src/store/redis/scripts.js';
import { skipRedis } from '../helpers/redis-server.js';
import { usePrivateRedisStore } from '../helpers/redis-store.js';

const src = readFileSync(join(luaDir(), 'grantCloseQty-3.lua'), 'utf8');
const header = src.slice(0, src.indexOf(']]'));
const body = src.slice(src.indexOf(']]'));

describe('grantCloseQty-3.lua header', () => {
  it('when the header lists its return codes then they are the TypeScript codes, and the body returns only those', () => {
    const declared = [...(header.split('Output:')[1] ?? '').matchAll(/^\s+'([a-z_]+)'/gm)].map((m) => m[1]);
    const returned = [...new Set([...body.matchAll(/return '([a-z_]+)'/g)].map((m) => m[1]))];
    expect(declared.sort()).toEqual([...GRANT_CLOSE_CODES].sort());
    expect(returned.sort()).toEqual([...GRANT_CLOSE_CODES].sort());
  });

  it('when the script uses KEYS/ARGV then its header documents them', () => {
    expect(header).toMatch(/Input:/);
    for (const ref of new Set([...body.matchAll(/(KEYS|ARGV)\[(\d+)\]/g)].map((m) => m[0]))) {
      expect(header).toContain(ref);
    }
    // The lapsed fields are passed from ARGV[10] on (unpack).
    expect(body).toContain('unpack(ARGV, 10)');
    expect(header).toContain('ARGV[10..]');
  });

  it('when a reply is parsed then only the declared codes pass', () => {
    for (const code of GRANT_CLOSE_CODES) expect(parseGrantCloseReply(code)).toBe(code);
    expect(parseGrantCloseReply(Buffer.from('granted'))).toBe('granted');
    expect(() => parseGrantCloseReply('written')).toThrow(/unexpected reply/);
    expect(() => parseGrantCloseReply(['granted'])).toThrow(/unexpected reply/);
    expect(() => parseGrantCloseReply(null)).toThrow(/unexpected reply/);
  });
});

describe.skipIf(skipRedis)('grantCloseQty-3.lua on Redis', () => {
  const { store } = usePrivateRedisStore();
  const req = (id: string, over: Partial<GrantCloseQtyRequest> = {}): GrantCloseQtyRequest => ({
    decisionKey: store.keys.authorityDecision('p33', id),
    permitKey: store.keys.p33Permit(id),
    reservationKey: store.keys.p33Reserved('BTCUSDT'),
    markerValue: 'allow',
    markerTtlSec: 3600,
    permitBody: '{"allow":true}',
    permitTtlSec: 60,
    expectSeq: '',
    field: `plan:${id}`,
    value: '{"qty":"5","at":1,"until":66}',
    grantedAt: '1',
    dropFields: [],
    reservationTtlSec: 600,
    ...over,
  });

  it('when the script cache is flushed then the grant still runs (NOSCRIPT fallback)', async () => {
    await store.client.script('FLUSH');
    expect(await store.grantCloseQty(req('f1'))).toBe('granted');
    await store.client.script('FLUSH');
    expect(await store.grantCloseQty(req('f1', { expectSeq: '1' }))).toBe('already_decided');
    await store.client.script('FLUSH');
    expect(await store.grantCloseQty(req('f2'))).toBe('conflict');
    await store.del([store.keys.p33Reserved('BTCUSDT')]);
  });

  it('when grants of many plans race from the same read then exactly one is granted, the others conflict', async () => {
    const outs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.grantCloseQty(req(`race${i}`))),
    );
    expect(outs.filter((o) => o === 'granted')).toHaveLength(1);
    expect(outs.filter((o) => o === 'conflict')).toHaveLength(19);
    const h = await store.hgetall(store.keys.p33Reserved('BTCUSDT'));
    expect(h.seq).toBe('1');
    expect(Object.keys(h).filter((f) => f.startsWith('plan:'))).toHaveLength(1);
    const permits = await store.mget(Array.from({ length: 20 }, (_, i) => store.keys.p33Permit(`race${i}`)));
    expect(permits.filter((p) => p !== null)).toHaveLength(1);
  });
});
