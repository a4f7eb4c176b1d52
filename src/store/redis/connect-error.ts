/**
 * Why a Redis connection failed, in one line. ioredis rejects a failed connect with
 * "Connection is closed." whatever happened; the cause (a wrong password, nothing listening,
 * a TLS failure) only reaches its 'error' event. Every command and service prints the store's
 * start-up error, so the store throws RedisConnectError with the cause named here.
 * Pure: no I/O; never quotes a password.
 */

/** Where the client tried to connect, as the URL or host/port named it. */
export interface ConnectTarget {
  host: string;
  port: number;
  /** The ACL user from the URL; absent: Redis' `default` user. */
  user?: string;
  tls: boolean;
  /** Sentinel mode: the master group and its sentinels, named instead of host:port. */
  via?: string;
}

/** The target of a redis[s]:// URL or a host/port pair (an unparsable URL: its defaults). */
export function connectTarget(o: {
  url?: string;
  host?: string;
  port?: number;
  sentinel?: { name: string; sentinels: { host: string; port: number }[] } | null;
}): ConnectTarget {
  if (o.sentinel) {
    const list = o.sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
    const { user, tls } = o.url ? connectTarget({ url: o.url }) : { user: undefined, tls: false };
    return {
      host: o.sentinel.name,
      port: 0,
      ...(user ? { user } : {}),
      tls,
      via: `master ${o.sentinel.name} via sentinels ${list}`,
    };
  }
  if (o.url) {
    try {
      const u = new URL(o.url);
      return {
        host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
        port: Number(u.port || 6379),
        ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
        tls: u.protocol === 'rediss:',
      };
    } catch {
      // Config validated the URL already; fall through to the defaults rather than throw here.
    }
  }
  return { host: o.host ?? '127.0.0.1', port: o.port ?? 6379, tls: false };
}

/** Node's TLS and certificate error codes (OpenSSL's X509 names and Node's ERR_TLS_/ERR_SSL_). */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_)|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH/;

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}

/** The one-line cause of a connection error, naming the user or host:port it concerns. */
export function describeRedisError(err: unknown, t: ConnectTarget): string {
  const at = t.via ?? `${t.host}:${t.port}`;
  const user = t.user ?? 'default';
  const msg = firstLine(err);
  const code = errorCode(err);
  if (/^WRONGPASS/.test(msg)) {
    return `WRONGPASS: wrong password for user ${user} at ${at} (or the user does not exist or is disabled)`;
  }
  if (/^NOAUTH/.test(msg)) {
    return `NOAUTH: ${at} needs a password and none was given (REDIS_URL redis://<user>:<password>@host:port)`;
  }
  if (/^NOPERM/.test(msg))
    return `NOPERM: user ${user} at ${at} may not run a command the client needs: ${msg}`;
  if (code !== undefined && TLS_CODE.test(code)) return `TLS ${code} with ${at}: ${msg}`;
  switch (code) {
    case 'ECONNREFUSED':
      return `ECONNREFUSED ${at}: nothing listens there`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${code} ${t.host}: the host name does not resolve`;
    case 'ETIMEDOUT':
      // A TLS client on a plain port sends its hello and waits: the server never answers it.
      return t.tls
        ? `ETIMEDOUT ${at}: no TLS handshake (rediss:// against a server without TLS on that port?)`
        : `ETIMEDOUT ${at}: no answer`;
    case 'ECONNRESET':
    case 'EPIPE':
      // A TLS-only port drops a plain client's first command.
      return t.tls
        ? `${code} ${at}: the server closed the connection`
        : `${code} ${at}: the server closed the connection (a TLS port? use rediss://)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${code} ${at}: no route to the host`;
  }
  // No error at all, only the close: a TLS-only port drops a plain client's first bytes.
  if (code === undefined && /^Connection is closed/.test(msg)) {
    return t.tls
      ? `${at}: the server closed the connection before it was ready`
      : `${at}: the server closed the connection before it was ready (a TLS port? use rediss://)`;
  }
  return code !== undefined && !msg.includes(code) ? `${code} ${at}: ${msg}` : `${at}: ${msg}`;
}

/** A connection that could not be set up: the message is the cause, as describeRedisError says. */
export class RedisConnectError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'RedisConnectError';
  }
}
