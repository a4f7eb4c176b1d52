/**
 * A forged plan entry (issue "Exposure safety", item 3): an EXECUTE entry with the id of an
 * upcoming PARTIAL_50 plan but the action FULL_CLOSE_PROPOSED. Every service runs under its
 * printed ACL user (src/ops/redis-acl.ts), against the paper exchange:
 * - the authorities' users cannot write such an entry at all;
 * - one written by someone who can (an administrator, a fleet service) is granted for the whole
 *   position, and apply refuses those permits against its own plan: no order, nothing sold.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { aclSetUserArgs, type AclService } from '../../src/ops/redis-acl.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { freshComputedAt } from '../helpers/decide.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { startAuthorities, type Authorities } from '../reliability/authorities.js';
import { PAPER_KEYS, startReplica, type Replica } from '../reliability/rig.js';
import { until } from '../helpers/wait.js';
import { planIdFor, proposal } from '../services/apply/harness.js';

const SYMBOL = 'BTCUSDT';
const PASSWORD: Record<AclService, string> = {
  apply: 'apply-pw-forged-1',
  governor: 'gov-pw-forged-2',
  p33: 'p33-pw-forged-3',
  inspect: 'insp-pw-forged-4',
  recorder: 'rec-pw-forged-5',
};

describe.skipIf(skipRedis)('a forged plan entry under the printed ACLs', () => {
  const server = usePrivateRedis({ notifyKeyspaceEvents: 'K$hgx' });
  let paper: PaperExchange;
  let admin: Redis;
  let store: Store;
  let authorities: Authorities;
  let apply: Replica;
  let prefix: string;
  const urlAs = (user: AclService) => server.url.replace('redis://', `redis://${user}:${PASSWORD[user]}@`);

  beforeAll(async () => {
    prefix = server.prefix();
    admin = new Redis(server.url);
    for (const s of ['apply', 'governor', 'p33'] as const) {
      await admin.call('ACL', 'SETUSER', ...aclSetUserArgs(s, PASSWORD[s], s, { prefix }));
    }
    paper = await startPaperExchange({
      host: '127.0.0.1',
      port: 0,
      ...PAPER_KEYS,
      positions: { [SYMBOL]: 10 },
      marks: { [SYMBOL]: 100 },
    });
    store = await createStore({ url: server.url, prefix });
    authorities = await startAuthorities(urlAs('governor'), prefix, paper, [SYMBOL], {
      p33RedisUrl: urlAs('p33'),
    });
    apply = await startReplica('apply', urlAs('apply'), prefix, paper, { leases: false });
    await until(
      async () =>
        (await store.hgetall(store.keys.positionSnapshot(SYMBOL))).position_amt === '10' ? true : null,
      10_000,
      'the P3.3 snapshot',
    );
  });
  afterAll(async () => {
    await apply?.stop();
    await authorities?.stop();
    await store?.close();
    admin?.disconnect();
    await paper?.close();
  });

  it('when the authorities users try to write the plan stream then Redis refuses them', async () => {
    for (const user of ['governor', 'p33'] as const) {
      const c = new Redis(urlAs(user), { maxRetriesPerRequest: 0 });
      await expect(c.xadd(store.keys.planStream(), '*', 'plan_id', '0123456789abcdef')).rejects.toThrow(
        /NOPERM/,
      );
      c.disconnect();
    }
  });

  it('when an entry with an upcoming plan id and a larger action is written anyway then its permits buy no order', async () => {
    const fields = proposal('PARTIAL_50', '0.3', { computed_at_utc: freshComputedAt() });
    const id = planIdFor(SYMBOL, fields);
    // The forgery, by a writer the ACLs cannot stop (the administrator's connection).
    await admin.xadd(
      store.keys.planStream(),
      '*',
      ...Object.entries({
        plan_id: id,
        symbol: SYMBOL,
        action: 'FULL_CLOSE_PROPOSED',
        kill_score: '0.3',
        decision: 'EXECUTE',
        reason_codes: '',
        steps: '[{"step": "CLOSE_FULL", "type": "market_reduce_only", "side": "close", "pct": 100}]',
        timestamp: String(Math.floor(Date.now() / 1000)),
      }).flat(),
    );
    // Both authorities grant it: P3.3 for the whole position.
    const p33Permit = await until(
      async () => store.get(store.keys.p33Permit(id, SYMBOL)),
      10_000,
      'the forged entry granted',
    );
    expect(JSON.parse(p33Permit)).toMatchObject({ allow: true, safe_close_qty: 10 });
    // The real plan: apply consumes those permits and refuses them against its own plan.
    await store.hset(store.keys.proposal(SYMBOL), fields);
    const result = await until(
      async () =>
        (await store.xrange(store.keys.resultStream(), '-', '+')).find((e) => e.fields.plan_id === id),
      10_000,
      'the real plan result',
    );
    expect(result.fields).toMatchObject({ decision: 'BLOCKED', error: 'permit_qty_exceeds_plan' });
    expect(paper.state.orders).toEqual([]);
    expect(paper.state.positionOf(SYMBOL)).toBe(10);
  });
});
