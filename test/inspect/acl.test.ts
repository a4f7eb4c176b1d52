/** explain and status run under the read-only `inspect` ACL user (src/ops/redis-acl.ts). */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { systemClock } from '../../src/ops/clock.js';
import { aclSetUserArgs } from '../../src/ops/redis-acl.js';
import { createStore } from '../../src/store/index.js';
import type { RedisStore } from '../../src/store/redis/redis-store.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { planOf, proposalFields, TraceWriter } from './fixtures.js';

async function run(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'quantum-apply', ...args], {
    env,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  return { code, out: out.join(''), err: err.join('') };
}

describe.skipIf(skipRedis)('inspect under its ACL user', () => {
  const server = usePrivateRedis();

  it('when only the inspect rules are granted then explain and status still answer and write nothing', async () => {
    const admin = (await createStore({ url: server.url })) as RedisStore;
    await admin.client.call('ACL', 'SETUSER', ...aclSetUserArgs('inspect', 'pw-inspect', 'inspect'));
    const plan = planOf(proposalFields('2026-01-25T05:00:00Z'));
    await new TraceWriter(admin, systemClock).executed(plan);
    await admin.createGroup(admin.keys.planStream(), 'governor', '0');
    await admin.readGroup(admin.keys.planStream(), 'governor', 'gov-1', { count: 1, blockMs: 0 });
    const keysBefore = (await admin.client.keys('*')).sort();
    const env = { REDIS_URL: `redis://inspect:pw-inspect@127.0.0.1:${server.port}` };

    const x = await run(['explain', plan.planId], env);
    expect(x.err).toBe('');
    expect(x.code).toBe(0);
    expect(x.out.trimEnd().split('\n').at(-1)).toBe(
      'EXECUTED: SELL 0.375 BTCUSDT reduceOnly, order 123, filled 0.375',
    );
    const s = await run(['status', '--json'], env);
    expect(s.err).toBe('');
    expect(s.code).toBe(0);
    const j = JSON.parse(s.out) as { groups: { group: string; consumer_list: { name: string }[] }[] };
    expect(j.groups[0]?.consumer_list.map((c) => c.name)).toEqual(['gov-1']);
    expect(s.out).not.toContain('pw-inspect');

    expect((await admin.client.keys('*')).sort()).toEqual(keysBefore);
    await admin.close();
  });
});
