/**
 * Keyspace notifications seen from a client that may not run CONFIG (a least-privilege ACL
 * user, SECURITY.md): subscribe to one key's keyspace channel, touch the key with a string
 * write, a hash write and deletes, and check that the server announced each. True means the
 * administrator enabled the classes the services rely on (K, $, h, g).
 */
import type { Redis } from 'ioredis';

const EXPECTED = ['set', 'hset', 'del'];

export async function probeNotifications(client: Redis, key: string, timeoutMs: number): Promise<boolean> {
  const channel = `__keyspace@${client.options.db ?? 0}__:${key}`;
  const sub = client.duplicate({
    lazyConnect: true,
    connectionName: 'quantum-apply-probe',
    enableAutoPipelining: false,
  });
  sub.on('error', () => {}); // a refusal or outage only means "not seen"
  let timer: NodeJS.Timeout | undefined;
  try {
    await sub.connect();
    const seen = new Set<string>();
    const all = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      sub.on('message', (ch: string, event: string) => {
        if (ch !== channel) return;
        seen.add(event);
        if (EXPECTED.every((e) => seen.has(e))) resolve(true);
      });
    });
    await sub.subscribe(channel);
    await client.set(key, '1', 'PX', 10_000);
    await client.del(key);
    await client.hset(key, 'probe', '1');
    await client.del(key);
    return await all;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    sub.disconnect();
  }
}
