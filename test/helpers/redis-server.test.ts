import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { skipRedis, usePrivateRedis } from './redis-server.js';

/** PONG from the server on `port`, or the connection error's code. */
async function ping(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().trim());
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

describe.skipIf(skipRedis)('usePrivateRedis', () => {
  let port = 0;
  afterAll(async () => {
    // the inner block's afterAll has run by now: its server must be gone
    expect(port).toBeGreaterThan(0);
    expect(await ping(port)).toBe('ECONNREFUSED');
  });

  describe('one block', () => {
    const server = usePrivateRedis();
    let readEarly: string;
    try {
      readEarly = server.url;
    } catch (err) {
      readEarly = (err as Error).message;
    }

    it('when read before its block starts then the handle says so instead of pointing nowhere', () => {
      expect(readEarly).toMatch(/not started/);
    });

    it('when read in a test then the handle forwards to a running server of its own', async () => {
      port = server.port;
      expect(server.url).toBe(`redis://127.0.0.1:${port}`);
      expect(port).not.toBe(6379);
      expect(await ping(port)).toBe('+PONG');
      expect(server.prefix()).not.toBe(server.prefix());
    });
  });
});
