import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { connectTarget, describeRedisError } from '../../src/store/redis/connect-error.js';
import { runCli } from '../helpers/cli.js';
import { freePort, skipRedis, usePrivateRedis } from '../helpers/redis-server.js';

const PASSWORD = 'the-right-password-9f2c';

/** The start-up error of a store on `url`: its message, or null when it opened. */
async function openError(url: string): Promise<string | null> {
  try {
    const s = await createStore({ url });
    await s.close();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('describeRedisError', () => {
  const t = connectTarget({ url: 'rediss://ops:pw@redis.internal:6380/0' });
  const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

  it('when a password error comes then it names the user and never the password', () => {
    const text = describeRedisError(new Error('WRONGPASS invalid username-password pair'), t);
    expect(text).toBe(
      'WRONGPASS: wrong password for user ops at redis.internal:6380 (or the user does not exist or is disabled)',
    );
    expect(text).not.toContain('pw@');
  });

  it('when TLS fails then the code is named', () => {
    expect(describeRedisError(withCode('ERR_TLS_CERT_ALTNAME_INVALID', 'altname'), t)).toBe(
      'TLS ERR_TLS_CERT_ALTNAME_INVALID with redis.internal:6380: altname',
    );
    expect(describeRedisError(withCode('ETIMEDOUT', 'connect ETIMEDOUT'), t)).toMatch(/^ETIMEDOUT .*TLS/);
  });

  it('when a plain client is reset then a TLS port is suggested', () => {
    const plain = connectTarget({ host: 'h', port: 7 });
    expect(describeRedisError(withCode('ECONNRESET', 'read ECONNRESET'), plain)).toBe(
      'ECONNRESET h:7: the server closed the connection (a TLS port? use rediss://)',
    );
  });
});

describe.skipIf(skipRedis)('a Redis that refuses the connection', () => {
  const server = usePrivateRedis();
  let closedPort: number;
  beforeAll(async () => {
    const admin = new Redis(server.url);
    await admin.config('SET', 'requirepass', PASSWORD);
    admin.disconnect();
    closedPort = await freePort();
  });

  const at = () => `127.0.0.1:${server.port}`;

  it('when the password is wrong then WRONGPASS and the user are named', async () => {
    expect(await openError(`redis://:nope@${at()}/0`)).toBe(
      `WRONGPASS: wrong password for user default at ${at()} (or the user does not exist or is disabled)`,
    );
    expect(await openError(`redis://bob:nope@${at()}/0`)).toMatch(/^WRONGPASS: wrong password for user bob /);
  });

  it('when no password is given then NOAUTH is named', async () => {
    expect(await openError(`redis://${at()}/0`)).toMatch(new RegExp(`^NOAUTH: ${at()} needs a password`));
  });

  it('when nothing listens then ECONNREFUSED host:port is named', async () => {
    expect(await openError(`redis://127.0.0.1:${closedPort}/0`)).toBe(
      `ECONNREFUSED 127.0.0.1:${closedPort}: nothing listens there`,
    );
  });

  it('when a command and a service cannot connect then their one line names the cause', async () => {
    const disarm = runCli(['disarm', '--reason', 'x'], { REDIS_URL: `redis://:nope@${at()}/0` });
    expect(await disarm.done).toBe(1);
    expect(disarm.err.join('')).toBe(
      `quantum-apply disarm: cannot reach redis at redis://:<redacted>@${at()}/0: WRONGPASS: wrong password for user default at ${at()} (or the user does not exist or is disabled)\n`,
    );
    const status = runCli(['status'], { REDIS_URL: `redis://127.0.0.1:${closedPort}/0` });
    expect(await status.done).not.toBe(0);
    expect(status.err.join('')).toContain(`ECONNREFUSED 127.0.0.1:${closedPort}: nothing listens there`);
    const gov = runCli(['governor'], {
      REDIS_URL: `redis://${at()}/0`,
      METRICS_PORT: '0',
      GOV_ENABLE_AUTO_DISARM: 'false',
    });
    expect(await gov.done).toBe(1);
    expect(gov.err.join('')).toMatch(new RegExp(`failed to start: NOAUTH: ${at()} needs a password`));
  });
});

/** A self-signed certificate from openssl, or null when openssl is missing. */
function selfSigned(): { key: Buffer; cert: Buffer } | null {
  const dir = mkdtempSync(join(tmpdir(), 'qa-tls-'));
  try {
    const r = spawnSync('openssl', [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
      ...['-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')],
    ]);
    if (r.status !== 0) return null;
    return { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cert = selfSigned();

describe.skipIf(cert === null)('a TLS endpoint the client does not trust', () => {
  let tls: TlsServer;
  let port: number;
  beforeAll(async () => {
    tls = createTlsServer({ key: cert!.key, cert: cert!.cert }, (s) => s.destroy());
    tls.on('tlsClientError', () => {});
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    port = (tls.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => tls.close(() => r())));

  it('when the certificate is self-signed then the TLS code is named', async () => {
    expect(await openError(`rediss://127.0.0.1:${port}/0`)).toMatch(
      new RegExp(`^TLS DEPTH_ZERO_SELF_SIGNED_CERT with 127.0.0.1:${port}: `),
    );
  });

  it('when a plain client meets a TLS port then the cause suggests rediss', async () => {
    expect(await openError(`redis://127.0.0.1:${port}/0`)).toMatch(
      new RegExp(`127.0.0.1:${port}: .*rediss://`),
    );
  });
});
