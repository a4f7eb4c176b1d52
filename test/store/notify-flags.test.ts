import { describe, expect, it } from 'vitest';
import { RedisStore, silentLogger } from '../../src/store/redis/redis-store.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { globEscape, mergedFlags, missingFlags } from '../../src/store/redis/notify-flags.js';
import { missingReason } from '../../src/store/permit-chain.js';
import { globToRegExp } from '../../src/store/memory/stream-ids.js';

describe('notify-keyspace-events flags', () => {
  it('when the server has none then all of ours are needed', () => {
    expect(mergedFlags('')).toBe('K$hgx');
  });
  it('when the server reports A (all classes) then only K may be missing', () => {
    expect(missingFlags('AE')).toEqual(['K']);
    expect(mergedFlags('AKE')).toBeNull();
  });
  it('when the server has some flags then the union keeps them', () => {
    expect(mergedFlags('El')).toBe('ElK$hgx');
    expect(mergedFlags('Kg$')).toBe('Kg$hx');
  });
});

describe('glob patterns', () => {
  it('when a literal key has glob characters then escaping matches only that key', () => {
    const re = globToRegExp(globEscape('a*[b]?'));
    expect(re.test('a*[b]?')).toBe(true);
    expect(re.test('axx[b]c')).toBe(false);
  });
  it('when a pattern uses * ? and classes then it matches like Redis', () => {
    expect(globToRegExp('quantum:permit:*').test('quantum:permit:p33:abc')).toBe(true);
    expect(globToRegExp('quantum:permit:*').test('quantum:apply:x')).toBe(false);
    expect(globToRegExp('k?[0-9]').test('ka7')).toBe(true);
    expect(globToRegExp('k[^a]').test('ka')).toBe(false);
  });
});

describe('missingReason', () => {
  const pair = ['governor', 'p33'];
  it('when the default pair is checked then the fleet reasons come out', () => {
    expect(missingReason(pair, [-2, -2])).toBe('missing_both');
    expect(missingReason(pair, [-2, 4000])).toBe('missing_governor');
    expect(missingReason(pair, [4000, -2])).toBe('missing_p33');
    expect(missingReason(pair, [-1, -2])).toBe('missing_p33');
  });
  it('when other sets are checked then absent names are joined in order', () => {
    const three = ['governor', 'p33', 'risk'];
    expect(missingReason(three, [-2, 10, -2])).toBe('missing_governor_risk');
    expect(missingReason(three, [-2, -2, -2])).toBe('missing_all');
    expect(missingReason(['risk'], [-2])).toBe('missing_risk');
  });
});

describe.skipIf(skipRedis)('notify-keyspace-events on the server', () => {
  const server = usePrivateRedis({ notifyKeyspaceEvents: 'Elg' });

  it('when the store changes the setting then it logs from and to, and nothing when it is already set', async () => {
    const warned: { obj: object; msg?: string }[] = [];
    const logger = { ...silentLogger, warn: (obj: object, msg?: string) => void warned.push({ obj, msg }) };
    const first = new RedisStore({ url: server.url, logger });
    await first.init();
    await first.close();
    const changes = warned.filter((w) => 'setting' in w.obj);
    expect(changes).toEqual([
      {
        obj: { setting: 'notify-keyspace-events', from: 'glE', to: 'glEK$hx' },
        msg: expect.stringContaining('from "glE" to "glEK$hx"'),
      },
    ]);
    const again = new RedisStore({ url: server.url, logger });
    await again.init();
    await again.close();
    expect(warned.filter((w) => 'setting' in w.obj)).toHaveLength(1);
  });
});
