import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { skipRedis, startRedis, type RedisServerHandle } from '../helpers/redis-server.js';

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
  let server: RedisServerHandle;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
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
    expect(lines).toHaveLength(4);
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
});
