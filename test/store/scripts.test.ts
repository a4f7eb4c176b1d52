/** The Lua scripts, called directly on a private Redis, and their headers. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONSUME_CODES,
  PUBLISH_CODES,
  PUBLISH_PLAN_CODES,
  luaDir,
  parseConsumeReply,
  parsePublishPlanReply,
  parsePublishReply,
} from '../../src/store/redis/scripts.js';
import { skipRedis } from '../helpers/redis-server.js';
import { usePrivateRedisStore } from '../helpers/redis-store.js';

const lua = (file: string) => readFileSync(join(luaDir(), file), 'utf8');
const header = (src: string) => src.slice(0, src.indexOf(']]'));

/** Codes listed under `Output:` as the first element of a returned table: {'code', ...}. */
function declaredCodes(src: string): string[] {
  const out = header(src).split('Output:')[1] ?? '';
  return [...out.matchAll(/\{'([a-z_]+)'/g)].map((m) => m[1]!);
}

function returnedCodes(src: string): string[] {
  const body = src.slice(src.indexOf(']]'));
  return [...new Set([...body.matchAll(/\{'([a-z_]+)'/g)].map((m) => m[1]!))];
}

describe('Lua script headers', () => {
  it('when a script is named <verbNoun>-<N>.lua then its body uses exactly N keys, or KEYS by count for -N', () => {
    const files = readdirSync(luaDir()).filter((f) => f.endsWith('.lua'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const m = /^[a-z][A-Za-z]*-(\d+|N)\.lua$/.exec(file);
      expect({ file, named: m !== null }).toEqual({ file, named: true });
      const body = lua(file).slice(lua(file).indexOf(']]'));
      const highest = Math.max(0, ...[...body.matchAll(/KEYS\[(\d+)\]/g)].map((k) => Number(k[1])));
      // A -N script reaches its keys through #KEYS, unpack(KEYS) or an index it computes.
      if (m?.[1] === 'N')
        expect({ file, byCount: /#KEYS|unpack\(KEYS|KEYS\[[^\d]/.test(body) }).toEqual({
          file,
          byCount: true,
        });
      else expect({ file, highest }).toEqual({ file, highest: Number(m?.[1]) });
    }
  });

  for (const [file, codes] of [
    ['consumePermits-N.lua', CONSUME_CODES],
    ['publishOnce-2.lua', PUBLISH_CODES],
    ['publishPlan-4.lua', PUBLISH_PLAN_CODES],
  ] as const) {
    it(`when ${file} declares its outputs then each has a case in the TypeScript union`, () => {
      const src = lua(file);
      expect(header(src)).toMatch(/Input:/);
      expect(declaredCodes(src).sort()).toEqual([...codes].sort());
      expect(returnedCodes(src).sort()).toEqual([...codes].sort());
    });

    it(`when ${file} uses KEYS/ARGV then its header documents them`, () => {
      const src = lua(file);
      const used = new Set(
        [...src.slice(src.indexOf(']]')).matchAll(/(KEYS|ARGV)\[(\d+)\]/g)].map((m) => m[0]),
      );
      for (const ref of used) expect(header(src)).toContain(ref);
    });
  }

  it('when every consume code is parsed then each maps to its outcome', () => {
    expect(parseConsumeReply(['consumed', 'a', 'b'], 2)).toEqual({
      kind: 'consumed',
      bodies: ['a', 'b'],
      replayed: false,
    });
    expect(parseConsumeReply(['replayed', 'a', 'b'], 2)).toEqual({
      kind: 'consumed',
      bodies: ['a', 'b'],
      replayed: true,
    });
    expect(parseConsumeReply(['missing', -2, 5000], 2)).toEqual({ kind: 'missing', ttlMs: [-2, 5000] });
    expect(parseConsumeReply(['consumed_elsewhere'], 2)).toEqual({ kind: 'consumed_elsewhere' });
    expect(() => parseConsumeReply(['consumed', 'a'], 2)).toThrow(/unexpected reply/);
    expect(() => parseConsumeReply(['what'], 2)).toThrow(/unexpected reply/);
    expect(() => parseConsumeReply(null, 2)).toThrow(/unexpected reply/);
    expect(parsePublishReply(['published', '1-0'])).toEqual({ kind: 'published', id: '1-0' });
    expect(parsePublishReply(['exists'])).toEqual({ kind: 'exists' });
    expect(() => parsePublishReply(['published'])).toThrow(/unexpected reply/);
    expect(parsePublishPlanReply(['handled'])).toEqual({ kind: 'handled' });
    expect(parsePublishPlanReply(['duplicate'])).toEqual({ kind: 'duplicate' });
    expect(parsePublishPlanReply(['published', '1-0', '1'])).toEqual({
      kind: 'published',
      id: '1-0',
      dedupeSet: true,
    });
    expect(parsePublishPlanReply(['exists', '0'])).toEqual({ kind: 'exists', dedupeSet: false });
    expect(() => parsePublishPlanReply(['published', '1-0'])).toThrow(/unexpected reply/);
    expect(() => parsePublishPlanReply(['exists', 'yes'])).toThrow(/unexpected reply/);
    expect(() => parsePublishPlanReply(['what'])).toThrow(/unexpected reply/);
  });
});

describe.skipIf(skipRedis)('Lua scripts on Redis', () => {
  const { store } = usePrivateRedisStore();

  it('when the script cache is flushed then both scripts still run (NOSCRIPT fallback)', async () => {
    const k = store.keys;
    await store.set(k.governorPermit('f1'), 'g');
    await store.set(k.p33Permit('f1'), 'p');
    await store.client.script('FLUSH');
    const out = await store.consumePermits(
      [k.governorPermit('f1'), k.p33Permit('f1')],
      k.permitReceipt('f1'),
      't',
      60,
    );
    expect(out).toEqual({ kind: 'consumed', bodies: ['g', 'p'], replayed: false });
    await store.client.script('FLUSH');
    expect(await store.publishOnce(`${k.prefix}m`, 60, k.planStream(), { a: '1' }, 0)).toMatch(/-/);
    await store.client.script('FLUSH');
    expect(await store.publishOnce(`${k.prefix}m`, 60, k.planStream(), { a: '1' }, 0)).toBeNull();
  });

  it('when one permit of three is absent then nothing is deleted and each TTL is reported', async () => {
    const k = store.keys;
    const keys = ['governor', 'p33', 'risk'].map((a) => k.permit(a, 'three'));
    await store.set(keys[0]!, 'g', { ttlSec: 60 });
    await store.set(keys[2]!, 'r');
    const out = await store.consumePermits(keys, k.permitReceipt('three'), 't', 60);
    expect(out.kind).toBe('missing');
    if (out.kind === 'missing') expect(out.ttlMs.map((t) => Math.sign(t))).toEqual([1, -1, -1]);
    expect(await store.mget(keys)).toEqual(['g', null, 'r']);
  });

  it('when the receipt is written then it holds the token and the bodies as JSON', async () => {
    const k = store.keys;
    await store.set(k.governorPermit('rc'), '{"granted":true}');
    await store.set(k.p33Permit('rc'), '{"allow":true}');
    await store.consumePermits(
      [k.governorPermit('rc'), k.p33Permit('rc')],
      k.permitReceipt('rc'),
      'tok-1',
      60,
    );
    expect(JSON.parse((await store.get(k.permitReceipt('rc')))!)).toEqual({
      token: 'tok-1',
      bodies: ['{"granted":true}', '{"allow":true}'],
    });
  });
});
