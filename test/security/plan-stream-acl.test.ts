/**
 * The plan stream under the printed ACLs (src/ops/redis-acl.ts): the apply layer is its only
 * writer, and only by XADD; the authorities consume it through their groups and cannot add,
 * change or remove entries. A forged EXECUTE entry (a known plan id with a larger action) was
 * granted by both authorities: an authority user must never be able to write one.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aclSetUserArgs, type AclService } from '../../src/ops/redis-acl.js';
import { createStore } from '../../src/store/index.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';

const PW = 'plan-stream-acl-pw-81';
const ID = '0123456789abcdef';
const AUTHORITIES = ['governor', 'p33'] as const;
/** The forged entry of the incident: a PARTIAL_50 plan's id with a full close. */
const FORGED = ['plan_id', ID, 'symbol', 'BTCUSDT', 'decision', 'EXECUTE', 'action', 'FULL_CLOSE_PROPOSED'];
/** A refusal: NOPERM to a client's command, "The user executing the script can't ..." inside Lua. */
const REFUSED = /NOPERM|user executing the script/;

describe.skipIf(skipRedis)('plan stream: one writer (apply, XADD only), authorities consume', () => {
  const server = usePrivateRedis();
  let admin: Redis;
  let prefix: string;
  const clients: Redis[] = [];
  const plan = () => `${prefix}quantum:stream:apply.plan`;
  const result = () => `${prefix}quantum:stream:apply.result`;
  const as = async (service: AclService) => {
    const c = new Redis({
      port: server.port,
      host: '127.0.0.1',
      username: service,
      password: PW,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    clients.push(c);
    await c.connect();
    return c;
  };
  const outcome = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'allowed';
    } catch (err) {
      return REFUSED.test((err as Error).message) ? 'refused' : (err as Error).message;
    }
  };
  /** A plan stream with one entry, read by both groups: what the services find in production. */
  const seedPlanStream = async () => {
    await admin.del(plan());
    const id = (await admin.xadd(plan(), '*', 'plan_id', 'fedcba9876543210', 'action', 'PARTIAL_50'))!;
    for (const g of AUTHORITIES) await admin.xgroup('CREATE', plan(), g, '0');
    return id;
  };
  const planUnchanged = async (id: string) => {
    expect(await admin.type(plan())).toBe('stream');
    expect(await admin.ttl(plan())).toBe(-1);
    expect((await admin.xrange(plan(), '-', '+')).map(([e]) => e)).toEqual([id]);
    const groups = (await admin.call('XINFO', 'GROUPS', plan())) as unknown[][];
    expect(groups.map((g) => g[1])).toEqual([...AUTHORITIES]);
  };

  beforeAll(async () => {
    prefix = server.prefix();
    admin = new Redis(server.url);
    for (const s of ['apply', 'governor', 'p33'] as const) {
      await admin.call('ACL', 'SETUSER', ...aclSetUserArgs(s, PW, s, { prefix }));
      await admin.call('ACL', 'SETUSER', ...aclSetUserArgs(`cluster-${s}`, PW, s, { prefix, cluster: true }));
    }
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    admin?.disconnect();
  });

  for (const s of AUTHORITIES) {
    it(`when the ${s} user adds, overwrites, trims, deletes or expires the plan stream then Redis refuses`, async () => {
      const id = await seedPlanStream();
      const c = await as(s);
      const attempts: [string, ...string[]][] = [
        ['XADD', plan(), '*', ...FORGED],
        ['XADD', plan(), 'MAXLEN', '0', '*', ...FORGED],
        ['SET', plan(), 'x'],
        ['DEL', plan()],
        ['UNLINK', plan()],
        ['EXPIRE', plan(), '1'],
        ['PEXPIRE', plan(), '1'],
        ['RENAME', plan(), `${prefix}quantum:${s}:moved`],
        ['XTRIM', plan(), 'MAXLEN', '0'],
        ['XDEL', plan(), id],
        ['XSETID', plan(), '9999999999999-0'],
        ['XGROUP', 'SETID', plan(), s, '$'],
        ['XGROUP', 'DESTROY', plan(), s],
        ['XGROUP', 'DELCONSUMER', plan(), s, 'c1'],
      ];
      for (const [cmd, ...args] of attempts) {
        expect(await outcome(c.call(cmd, ...args)), `${cmd} ${args.join(' ')}`).toBe('refused');
      }
      await planUnchanged(id);
    });

    it(`when the ${s} user writes the plan stream from Lua then Redis refuses, with the stream declared or not`, async () => {
      const id = await seedPlanStream();
      const c = await as(s);
      const own = `${prefix}quantum:${s}:decided:${ID}`;
      const writes = [
        "return redis.call('XADD', KEYS[1], '*', unpack(ARGV))",
        "return redis.call('SET', KEYS[1], 'x')",
        "return redis.call('DEL', KEYS[1])",
        "return redis.call('EXPIRE', KEYS[1], 1)",
        "return redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)",
      ];
      for (const body of writes) {
        // Declared: EVAL itself names the plan stream.
        expect(await outcome(c.eval(body, 1, plan(), ...FORGED)), body).toBe('refused');
        // Undeclared: EVAL names a key of its own; the redis.call inside is checked on its own.
        const hidden = body.replace('KEYS[1]', `'${plan()}'`);
        expect(await outcome(c.eval(hidden, 1, own, ...FORGED)), hidden).toBe('refused');
        expect(await outcome(c.eval(hidden, 0, ...FORGED)), hidden).toBe('refused');
      }
      await planUnchanged(id);
    });

    it(`when the ${s} user consumes the plan stream through its group then XGROUP CREATE MKSTREAM, XREADGROUP, XAUTOCLAIM and XACK work`, async () => {
      await admin.del(plan());
      const c = await as(s);
      expect(await c.xgroup('CREATE', plan(), s, '$', 'MKSTREAM')).toBe('OK');
      await expect(c.xgroup('CREATE', plan(), s, '$', 'MKSTREAM')).rejects.toThrow(/BUSYGROUP/);
      const id = (await admin.xadd(plan(), '*', 'plan_id', ID, 'action', 'PARTIAL_50'))!;
      const read = (await c.xreadgroup('GROUP', s, 'c1', 'COUNT', 10, 'STREAMS', plan(), '>')) as [
        string,
        [string, string[]][],
      ][];
      expect(read[0]![1].map(([e]) => e)).toEqual([id]);
      // The own pending entries after a restart (id 0), and the entries of a consumer that died.
      expect(await outcome(c.xreadgroup('GROUP', s, 'c1', 'COUNT', 10, 'STREAMS', plan(), '0'))).toBe(
        'allowed',
      );
      const claimed = (await c.call('XAUTOCLAIM', plan(), s, 'c2', '0', '0-0', 'COUNT', '10')) as [
        string,
        [string, string[]][],
      ];
      expect(claimed[1].map(([e]) => e)).toEqual([id]);
      expect(await c.xack(plan(), s, id)).toBe(1);
    });
  }

  it('when the governor user reads its group lag or records an event or a decision then XINFO GROUPS and XADD to both streams work', async () => {
    await seedPlanStream();
    const c = await as('governor');
    // Its /metrics reads the plan stream's group lag (createStreamMetrics).
    expect(await outcome(c.call('XINFO', 'GROUPS', plan()))).toBe('allowed');
    const events = `${prefix}quantum:stream:governor.events`;
    expect(await outcome(c.xadd(events, 'MAXLEN', '~', '1000', '*', 'event', 'AUTO_DISARM'))).toBe('allowed');
    expect(await admin.xlen(events)).toBe(1);
    const decisions = `${prefix}quantum:stream:governor.decisions`;
    expect(await outcome(c.xadd(decisions, 'MAXLEN', '~', '1000', '*', 'decision', 'BLOCKED'))).toBe(
      'allowed',
    );
    expect(await admin.xlen(decisions)).toBe(1);
  });

  it('when the P3.3 user adds to any stream then Redis refuses: it writes none', async () => {
    const c = await as('p33');
    for (const key of [
      `${prefix}quantum:p33:x`,
      `${prefix}quantum:position:x`,
      `${prefix}quantum:stream:governor.events`,
      `${prefix}quantum:stream:governor.decisions`,
      result(),
    ]) {
      expect(await outcome(c.xadd(key, '*', 'a', '1')), key).toBe('refused');
    }
    // It reads the result stream (the ledger follower).
    expect(await outcome(c.xrange(result(), '-', '+', 'COUNT', 1))).toBe('allowed');
  });

  it('when the apply user changes its streams other than by XADD then Redis refuses, and XADD and reads work', async () => {
    const id = await seedPlanStream();
    const c = await as('apply');
    for (const stream of [plan(), result()]) {
      for (const [cmd, ...args] of [
        ['SET', stream, 'x'],
        ['DEL', stream],
        ['EXPIRE', stream, '1'],
        ['PEXPIRE', stream, '1'],
        ['XTRIM', stream, 'MAXLEN', '0'],
        ['XDEL', stream, id],
        ['XGROUP', 'CREATE', stream, 'apply', '$', 'MKSTREAM'],
        ['XGROUP', 'SETID', stream, 'p33', '$'],
        ['XGROUP', 'DESTROY', stream, 'governor'],
      ] as [string, ...string[]][]) {
        expect(await outcome(c.call(cmd, ...args)), `${cmd} ${args.join(' ')}`).toBe('refused');
      }
      expect(await outcome(c.eval("return redis.call('DEL', KEYS[1])", 1, stream)), stream).toBe('refused');
      expect(await outcome(c.eval(`return redis.call('DEL', '${stream}')`, 0)), stream).toBe('refused');
    }
    await planUnchanged(id);
    expect(await outcome(c.xrevrange(plan(), '+', '-', 'COUNT', 1))).toBe('allowed');
    expect(await outcome(c.xadd(result(), '*', 'plan_id', ID))).toBe('allowed');
  });

  it('when the store publishes a plan as the apply user then the entry is on the plan stream', async () => {
    await seedPlanStream();
    const s = await createStore({ url: `redis://apply:${PW}@127.0.0.1:${server.port}`, prefix });
    try {
      const k = s.keys;
      const out = await s.publishPlan({
        resultMarkerKey: k.resultPublished(ID),
        dedupe: { key: k.dedupe(ID), value: '1769300000', ttlSec: 60 },
        markerKey: k.streamPublished(ID),
        markerTtlSec: 60,
        stream: k.planStream(),
        fields: { plan_id: ID, action: 'PARTIAL_50' },
        maxLen: 1000,
      });
      expect(out.kind).toBe('published');
      expect((await admin.xrevrange(plan(), '+', '-', 'COUNT', 1))[0]![1]).toEqual([
        'plan_id',
        ID,
        'action',
        'PARTIAL_50',
      ]);
    } finally {
      await s.close();
    }
  });

  it('when the rules are printed for cluster mode then the plan stream rights are the same (ACL DRYRUN)', async () => {
    const dry = async (s: AclService, ...cmd: string[]) =>
      String(await admin.call('ACL', 'DRYRUN', `cluster-${s}`, ...cmd)) === 'OK' ? 'allowed' : 'refused';
    for (const s of AUTHORITIES) {
      for (const cmd of [
        ['XADD', plan(), '*', ...FORGED],
        ['SET', plan(), 'x'],
        ['DEL', plan()],
        ['EXPIRE', plan(), '1'],
        ['XTRIM', plan(), 'MAXLEN', '0'],
        ['XDEL', plan(), '1-1'],
        ['XGROUP', 'SETID', plan(), s, '$'],
        ['XGROUP', 'DESTROY', plan(), s],
        ['EVAL', "return redis.call('XADD', KEYS[1], '*', 'a', '1')", '1', plan()],
      ]) {
        expect(await dry(s, ...cmd), `${s}: ${cmd.join(' ')}`).toBe('refused');
      }
      for (const cmd of [
        ['XGROUP', 'CREATE', plan(), s, '$', 'MKSTREAM'],
        ['XREADGROUP', 'GROUP', s, 'c1', 'COUNT', '10', 'STREAMS', plan(), '>'],
        ['XAUTOCLAIM', plan(), s, 'c2', '0', '0-0', 'COUNT', '10'],
        ['XACK', plan(), s, '1-1'],
      ]) {
        expect(await dry(s, ...cmd), `${s}: ${cmd.join(' ')}`).toBe('allowed');
      }
    }
    expect(await dry('governor', 'XADD', `${prefix}quantum:stream:governor.events`, '*', 'a', '1')).toBe(
      'allowed',
    );
    expect(await dry('governor', 'XINFO', 'GROUPS', plan())).toBe('allowed');
    expect(await dry('p33', 'XADD', `${prefix}quantum:p33:x`, '*', 'a', '1')).toBe('refused');
    expect(await dry('apply', 'XADD', plan(), '*', 'a', '1')).toBe('allowed');
    expect(await dry('apply', 'DEL', plan())).toBe('refused');
    expect(await dry('apply', 'XTRIM', plan(), 'MAXLEN', '0')).toBe('refused');
  });
});
