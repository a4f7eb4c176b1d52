import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';

/** The words of a line as a POSIX shell would split it (single quotes, '\'' escapes). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!);
  return words;
}

async function acl(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const code = await main(['node', 'quantum-apply', 'acl', ...args], {
    env,
    stdout: (t) => void out.push(t),
    stderr: (t) => void out.push(t),
  });
  return { code, text: out.join('') };
}

describe.skipIf(skipRedis)('quantum-apply acl', () => {
  const server = usePrivateRedis();
  let admin: Redis;
  beforeAll(async () => {
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin?.disconnect();
  });

  it('when the printed commands are run then each user exists with its rules and no password was printed', async () => {
    const prefix = server.prefix();
    const urlPw = 'url-pw-never-printed-42';
    const r = await acl([], {
      REDIS_KEY_PREFIX: prefix,
      REDIS_URL: `redis://admin:${urlPw}@127.0.0.1:6379/0`,
    });
    expect(r.code).toBe(0);
    expect(r.text).not.toContain(urlPw);
    const lines = r.text.split('\n').filter((l) => l.startsWith('redis-cli '));
    expect(lines).toHaveLength(6);
    for (const line of lines) {
      const words = shellWords(line).slice(1);
      expect(words.slice(0, 2)).toEqual(['ACL', 'SETUSER']);
      const args = words.map((w) => (/^><.* password>$/.test(w) ? '>test-pw' : w));
      expect(await admin.call(...(args as [string, ...string[]]))).toBe('OK');
    }
    const c = new Redis({
      port: server.port,
      username: 'quantum-governor',
      password: 'test-pw',
      lazyConnect: true,
    });
    await c.connect();
    await expect(c.set(`${prefix}quantum:permit:0123456789abcdef`, '{}')).resolves.toBe('OK');
    await expect(c.set(`${prefix}quantum:permit:p33:0123456789abcdef`, '{}')).rejects.toThrow(/NOPERM/);
    c.disconnect();
  });

  it('when one service is asked for then only its user is printed', async () => {
    const r = await acl(['p33'], {});
    expect(r.text.split('\n').filter((l) => l.startsWith('redis-cli '))).toEqual([
      expect.stringContaining('ACL SETUSER quantum-p33 reset on'),
    ]);
  });

  describe('the operator user', () => {
    let prefix: string;
    const urlAs = (user: string) => server.url.replace('redis://', `redis://${user}:op-pw-Kd93@`);
    const decisions = () => admin.xrange(`${prefix}quantum:stream:governor.decisions`, '-', '+');
    const armHash = () => admin.hgetall(`${prefix}quantum:apply:arm`);
    beforeAll(async () => {
      prefix = server.prefix();
      const r = await acl(['operator'], { REDIS_KEY_PREFIX: prefix });
      const line = r.text.split('\n').find((l) => l.startsWith('redis-cli '))!;
      const args = shellWords(line)
        .slice(1)
        .map((w) => (w === '><operator password>' ? '>op-pw-Kd93' : w));
      expect(await admin.call(...(args as [string, ...string[]]))).toBe('OK');
    });

    it('when the operator from `acl operator` disarms and arms then both change the state and are recorded', async () => {
      const env = { REDIS_URL: urlAs('quantum-operator'), REDIS_KEY_PREFIX: prefix };
      const off = runCli(['disarm', '--reason', 'maintenance', '--by', 'alice'], env);
      expect(await off.done, off.err.join('')).toBe(0);
      expect(off.out.join('')).toBe('disarmed (reason=maintenance by=alice)\n');
      expect(await armHash()).toMatchObject({ armed: 'false', reason: 'maintenance', by: 'alice' });
      const on = runCli(['arm', '--by', 'alice'], env);
      expect(await on.done, on.err.join('')).toBe(0);
      expect(await armHash()).toMatchObject({ armed: 'true', by: 'alice' });
      expect((await decisions()).map(([, f]) => f[f.indexOf('decision') + 1])).toEqual(['DISARMED', 'ARMED']);
      // Nothing else: the operator may neither read nor trim the audit stream, nor touch a permit.
      const c = new Redis({ port: server.port, username: 'quantum-operator', password: 'op-pw-Kd93' });
      await expect(c.xrange(`${prefix}quantum:stream:governor.decisions`, '-', '+')).rejects.toThrow(
        /NOPERM/,
      );
      await expect(c.xtrim(`${prefix}quantum:stream:governor.decisions`, 'MAXLEN', 0)).rejects.toThrow(
        /NOPERM/,
      );
      await expect(c.set(`${prefix}quantum:permit:0123456789abcdef`, '{}')).rejects.toThrow(/NOPERM/);
      c.disconnect();
    });

    it('when the audit event cannot be written then disarm says the state is in force and the record is not', async () => {
      // The rule SECURITY.md used to give: the arm key alone, no XADD.
      await admin.call(
        'ACL',
        'SETUSER',
        'old-operator',
        'reset',
        'on',
        '>op-pw-Kd93',
        `~${prefix}quantum:apply:arm`,
        '-@all',
        '+ping',
        '+info',
        '+client|setname',
        '+select',
        '+hset',
        '+hgetall',
      );
      const before = (await decisions()).length;
      const r = runCli(['disarm', '--reason', 'incident'], {
        REDIS_URL: urlAs('old-operator'),
        REDIS_KEY_PREFIX: prefix,
      });
      expect(await r.done).toBe(1);
      expect(await armHash()).toMatchObject({ armed: 'false', reason: 'incident' });
      expect((await decisions()).length).toBe(before);
      const [first, second] = r.err.join('').split('\n');
      expect(first).toMatch(
        new RegExp(
          `^quantum-apply disarm: disarmed \\(the arm state is written and in force\\), but its audit event was not written to ${prefix}quantum:stream:governor.decisions: NOPERM`,
        ),
      );
      expect(second).toContain('quantum-apply acl operator');
    });
  });
});
