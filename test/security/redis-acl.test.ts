/**
 * Redis access: each service's minimal ACL (src/ops/redis-acl.ts) refuses what the service must
 * not do, credentials come from the URL only, and rediss:// speaks TLS. The services running
 * under these users end to end: fleet-secrets.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACL_ROLES,
  SCRIPT_USERS,
  aclRules,
  aclSetUserArgs,
  type AclService,
} from '../../src/ops/redis-acl.js';
import { captureLogger } from '../../src/ops/logger.js';
import { createStore } from '../../src/store/index.js';
import {
  freePort,
  skipRedis,
  startRedis,
  type RedisServerHandle,
  usePrivateRedis,
} from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

const PASSWORDS: Record<AclService, string> = {
  apply: 'apply-pw-Zq81xx',
  governor: 'gov-pw-Yw72yy',
  p33: 'p33-pw-Xe63zz',
  inspect: 'insp-pw-Vr54ww',
  recorder: 'rec-pw-Ut45vv',
};
const ID = '0123456789abcdef';

describe.skipIf(skipRedis)('Redis ACL per service', () => {
  const server = usePrivateRedis({ notifyKeyspaceEvents: 'K$hgx' });
  let admin: Redis;
  let prefix: string;
  const clients: Redis[] = [];
  const as = async (service: AclService) => {
    const c = new Redis({
      port: server.port,
      host: '127.0.0.1',
      username: service,
      password: PASSWORDS[service],
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    clients.push(c);
    await c.connect();
    return c;
  };
  const denied = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'allowed';
    } catch (err) {
      return /NOPERM/.test((err as Error).message) ? 'NOPERM' : (err as Error).message;
    }
  };

  beforeAll(async () => {
    prefix = server.prefix();
    admin = new Redis(server.url);
    for (const s of Object.keys(PASSWORDS) as AclService[]) {
      await admin.call('ACL', 'SETUSER', ...aclSetUserArgs(s, PASSWORDS[s], s, { prefix }));
    }
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    admin?.disconnect();
  });

  it('when the apply user writes authority or position keys or proposals then Redis refuses', async () => {
    const c = await as('apply');
    expect(await denied(c.set(`${prefix}quantum:governor:exec:BTCUSDT`, '1'))).toBe('NOPERM');
    expect(await denied(c.hset(`${prefix}quantum:position:ledger:BTCUSDT`, 'last_known_amt', '9'))).toBe(
      'NOPERM',
    );
    expect(await denied(c.hset(`${prefix}quantum:harvest:proposal:BTCUSDT`, 'kill_score', '0'))).toBe(
      'NOPERM',
    );
    expect(await denied(c.config('SET', 'notify-keyspace-events', ''))).toBe('NOPERM');
    expect(await denied(c.config('GET', 'requirepass'))).toBe('NOPERM');
    expect(await denied(c.flushall())).toBe('NOPERM');
    expect(await denied(c.hgetall(`${prefix}quantum:harvest:proposal:BTCUSDT`))).toBe('allowed');
    // The governor's block record: read to name its reason in a result, never written.
    expect(await denied(c.get(`${prefix}quantum:governor:block:${ID}`))).toBe('allowed');
    expect(await denied(c.set(`${prefix}quantum:governor:block:${ID}`, '{}'))).toBe('NOPERM');
    expect(await denied(c.get(`${prefix}quantum:governor:decided:${ID}`))).toBe('NOPERM');
    // Consuming reads and deletes permits; creating one is refused, also from inside Lua.
    expect(await denied(c.get(`${prefix}quantum:permit:p33:${ID}`))).toBe('allowed');
    expect(await denied(c.del(`${prefix}quantum:permit:${ID}`))).toBe('allowed');
    expect(await denied(c.set(`${prefix}quantum:permit:${ID}`, '{"granted": true}'))).toBe('NOPERM');
    expect(await denied(c.set(`${prefix}quantum:permit:p33:${ID}`, '{"allow": true}'))).toBe('NOPERM');
    const forge = "return redis.call('SET', KEYS[1], ARGV[1])";
    expect(await denied(c.eval(forge, 1, `${prefix}quantum:permit:${ID}`, '{}'))).toMatch(
      /NOPERM|user executing the script/,
    );
  });

  it('when the governor user writes a P3.3 permit, the ledger or the result stream then Redis refuses', async () => {
    const c = await as('governor');
    expect(await denied(c.set(`${prefix}quantum:permit:p33:${ID}`, '{}'))).toBe('NOPERM');
    expect(await denied(c.hset(`${prefix}quantum:position:ledger:BTCUSDT`, 'a', '1'))).toBe('NOPERM');
    expect(await denied(c.xadd(`${prefix}quantum:stream:apply.result`, '*', 'a', '1'))).toBe('NOPERM');
    expect(await denied(c.set(`${prefix}quantum:apply:dedupe:${ID}`, '1'))).toBe('NOPERM');
    expect(await denied(c.set(`${prefix}quantum:permit:${ID}`, '{}', 'EX', 60))).toBe('allowed');
  });

  it('when the recorder user writes, trims or deletes a stream, or reads a permit, then Redis refuses', async () => {
    const c = await as('recorder');
    const result = `${prefix}quantum:stream:apply.result`;
    await admin.xadd(result, '*', 'plan_id', ID);
    expect(await denied(c.xgroup('CREATE', result, 'history', '0', 'MKSTREAM'))).toBe('allowed');
    const read = (await c.xreadgroup('GROUP', 'history', 'r1', 'COUNT', 10, 'STREAMS', result, '>')) as [
      string,
      [string, string[]][],
    ][];
    const id = read[0]![1][0]![0];
    expect(await denied(c.xack(result, 'history', id))).toBe('allowed');
    expect(await denied(c.xinfo('GROUPS', result))).toBe('allowed');
    expect(await denied(c.xrange(`${prefix}quantum:stream:p33.decisions`, '-', '+'))).toBe('allowed');
    expect(await denied(c.xadd(result, '*', 'plan_id', ID))).toBe('NOPERM');
    expect(await denied(c.xtrim(result, 'MAXLEN', 0))).toBe('NOPERM');
    expect(await denied(c.del(result))).toBe('NOPERM');
    expect(await denied(c.expire(result, 1))).toBe('NOPERM');
    expect(await denied(c.get(`${prefix}quantum:permit:${ID}`))).toBe('NOPERM');
    expect(await denied(c.hgetall(`${prefix}quantum:apply:arm`))).toBe('NOPERM');
    expect(
      await denied(c.xgroup('CREATE', `${prefix}quantum:stream:apply.canary`, 'history', '0', 'MKSTREAM')),
    ).toBe('NOPERM');
  });

  it('when the P3.3 user writes a governor permit or the result stream then Redis refuses', async () => {
    const c = await as('p33');
    expect(await denied(c.set(`${prefix}quantum:permit:${ID}`, '{}'))).toBe('NOPERM');
    expect(await denied(c.xadd(`${prefix}quantum:stream:apply.result`, '*', 'a', '1'))).toBe('NOPERM');
    expect(await denied(c.hset(`${prefix}quantum:apply:arm`, 'armed', 'true'))).toBe('NOPERM');
    expect(await denied(c.set(`${prefix}quantum:permit:p33:${ID}`, '{}', 'EX', 60))).toBe('allowed');
  });

  it('when the inspect user writes anything then Redis refuses, and reads work', async () => {
    const c = await as('inspect');
    expect(await denied(c.set(`${prefix}quantum:apply:arm`, 'x'))).toBe('NOPERM');
    expect(await denied(c.del(`${prefix}quantum:permit:${ID}`))).toBe('NOPERM');
    expect(await denied(c.get(`${prefix}quantum:permit:${ID}`))).toBe('allowed');
  });

  it('when a key outside the prefix is touched then Redis refuses', async () => {
    const c = await as('apply');
    expect(await denied(c.get('other:quantum:apply:arm'))).toBe('NOPERM');
    expect(await denied(c.get(`quantum:permit:${ID}`))).toBe('NOPERM');
  });

  it('when the password in the URL is wrong then the store does not start and the error hides it', async () => {
    const url = `redis://apply:not-the-pw-777@127.0.0.1:${server.port}`;
    const log = captureLogger();
    let message = '';
    try {
      const s = await createStore({ url, prefix, logger: log.logger });
      await s.close();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toBe('');
    // The reason reaches the log (once per outage), the password reaches nothing.
    expect(log.text()).toMatch(/WRONGPASS|invalid username-password/i);
    expect(`${message}${log.text()}`).not.toContain('not-the-pw-777');
  });

  const applyUrl = () => `redis://apply:${encodeURIComponent(PASSWORDS.apply)}@127.0.0.1:${server.port}`;

  it('when the store runs under the apply user then it consumes permits and sees the admin-enabled notifications without CONFIG', async () => {
    const s = await createStore({ url: applyUrl(), prefix });
    try {
      expect(s.notificationsActive()).toBe(true);
      const changes: string[] = [];
      const off = await s.onKeyChange(s.keys.permitPattern(), (c) => void changes.push(c.event));
      await admin.set(`${prefix}quantum:permit:${ID}`, '{"granted": true}');
      await admin.set(`${prefix}quantum:permit:p33:${ID}`, '{"allow": true}');
      await until(() => changes.length >= 2, 1000, 'two permit events');
      expect(changes).toEqual(['set', 'set']);
      await off();
      const out = await s.consumePermits(
        [s.keys.governorPermit(ID), s.keys.p33Permit(ID)],
        s.keys.permitReceipt(ID),
        'tok',
        60,
      );
      expect(out.kind).toBe('consumed');
      // The arm state's change notification, which drops apply's copy of it (ArmStateCache).
      const armEvents: string[] = [];
      const armOff = await s.onKeyChange(s.keys.armState(), (c) => void armEvents.push(c.event), {
        keys: [s.keys.armState()],
      });
      await admin.hset(s.keys.armState(), 'armed', 'false');
      await until(() => armEvents.length >= 1, 1000, 'the arm event');
      expect(armEvents).toEqual(['hset']);
      await armOff();
    } finally {
      await s.close();
    }
  });

  it('when the admin has not enabled notifications then the apply user reports them off (and polls)', async () => {
    await admin.config('SET', 'notify-keyspace-events', '');
    const log = captureLogger();
    const s = await createStore({ url: applyUrl(), prefix, logger: log.logger });
    try {
      expect(s.notificationsActive()).toBe(false);
      expect(log.text()).toContain('keyspace notifications are OFF');
    } finally {
      await s.close();
      await admin.config('SET', 'notify-keyspace-events', 'K$hgx');
    }
  });

  it('when a Lua script calls a command then every service that runs it may run that command', () => {
    const dir = join(import.meta.dirname, '..', '..', 'src', 'store', 'redis', 'lua');
    const scripts = readdirSync(dir).filter((f) => f.endsWith('.lua'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const file of scripts) {
      const name = file.replace(/\.lua$/, '');
      const users = SCRIPT_USERS[name];
      expect(users, `${name}: add it to SCRIPT_USERS in src/ops/redis-acl.ts`).toBeDefined();
      const calls = [...readFileSync(join(dir, file), 'utf8').matchAll(/redis\.call\('([A-Za-z]+)'/g)];
      for (const service of users ?? []) {
        // Granted by the root rules or by a selector (which also names the keys it covers).
        const allowed = aclRules(service).flatMap((r) =>
          r.startsWith('(') ? r.slice(1, -1).split(' ') : [r],
        );
        for (const [, cmd] of calls)
          expect(allowed, `${name} as ${service}`).toContain(`+${cmd!.toLowerCase()}`);
      }
    }
  });

  it('when SECURITY.md lists the ACLs then each row names every key pattern, selector and command of its service', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'SECURITY.md'), 'utf8');
    for (const s of ACL_ROLES) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${s}\` |`));
      expect(row, s).toBeDefined();
      const text = row!.replace(/\\\|/g, '|');
      for (const rule of aclRules(s)) {
        if (rule === '-@all') continue;
        // A selector is shown whole, as printed: its keys and commands only count together.
        const shown = rule.startsWith('+') ? rule.slice(1) : rule;
        if (['ping', 'info', 'client|setname', 'select', 'time', 'evalsha', 'eval'].includes(shown)) continue;
        expect(text, `${s}: ${rule}`).toContain(shown);
      }
    }
  });

  it('when the rules are printed then every service denies all but its own commands', () => {
    for (const s of ACL_ROLES) {
      const rules = aclRules(s);
      expect(rules).toContain('-@all');
      expect(rules.some((r) => /config|flush|keys$|debug|module/i.test(r) && r.startsWith('+'))).toBe(false);
    }
  });
});

const opensslOk = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(skipRedis || !opensslOk)('Redis over TLS (rediss://)', () => {
  let server: RedisServerHandle;
  let dir: string;
  let tlsPort: number;
  let noTls: string | null = null;
  const tlsOptions = () => ({
    args: [
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      join(dir, 'cert.pem'),
      '--tls-key-file',
      join(dir, 'key.pem'),
      '--tls-ca-cert-file',
      join(dir, 'cert.pem'),
      '--tls-auth-clients',
      'no',
    ],
  });
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qa-tls-'));
    const gen = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    if (gen.status !== 0) throw new Error('openssl could not create a test certificate');
    tlsPort = await freePort();
    try {
      server = await startRedis(tlsOptions());
    } catch (err) {
      // Builds without TLS (BUILD_TLS=no) refuse --tls-port: skip with the reason.
      noTls = `redis-server did not start with --tls-port (${(err as Error).message})`;
      process.stderr.write(`[tls] skipping: ${noTls}\n`);
      return;
    }
    const admin = new Redis(server.url);
    await admin.call(
      'ACL',
      'SETUSER',
      ...aclSetUserArgs('apply', PASSWORDS.apply, 'apply', { prefix: 'tls:' }),
    );
    // The authorities' permits (the apply user may consume them, not write them).
    await admin.set('tls:quantum:permit:00000000000000aa', '{"granted": true}', 'EX', 600);
    await admin.set('tls:quantum:permit:p33:00000000000000aa', '{"allow": true}', 'EX', 600);
    admin.disconnect();
  });
  afterAll(async () => {
    if (!noTls) await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const client = (url: string, ca: string | null) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'tls-client.ts')], {
      env: {
        ...process.env,
        REDIS_URL: url,
        REDIS_KEY_PREFIX: 'tls:',
        ...(ca ? { NODE_EXTRA_CA_CERTS: ca } : {}),
      },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('when REDIS_URL is rediss://user:pass@host:port then the store speaks TLS as that ACL user', (ctx) => {
    if (noTls) return ctx.skip();
    const url = `rediss://apply:${PASSWORDS.apply}@127.0.0.1:${tlsPort}/0`;
    const r = client(url, join(dir, 'cert.pem'));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ got: '1769300000', consumed: 'consumed' });
  });

  it('when the server certificate is not trusted then the store refuses to connect', (ctx) => {
    if (noTls) return ctx.skip();
    const r = client(`rediss://apply:${PASSWORDS.apply}@127.0.0.1:${tlsPort}`, null);
    expect(r.status).not.toBe(0);
    expect(`${r.stderr}${r.stdout}`).toMatch(/self[- ]signed|certificate/i);
    expect(`${r.stderr}${r.stdout}`).not.toContain(PASSWORDS.apply);
  });
});
