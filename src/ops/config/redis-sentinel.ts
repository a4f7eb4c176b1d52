/**
 * REDIS_SENTINELS: a master with replicas under Redis Sentinel, found by name through the
 * sentinels (ioredis' own Sentinel support). The master's credentials, TLS (rediss://) and
 * database still come from REDIS_URL, whose host must then be the master group's name: a real
 * host there would be a second, contradicting answer to "where is the master", so it is refused,
 * as are REDIS_HOST/REDIS_PORT and REDIS_CLUSTER.
 */
import type { SentinelTarget } from '../../store/redis/connection.js';
import { boolField, secretField, textField, type EnvReader } from './env.js';

const ENDPOINT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

export const SENTINELS_EXPECTED =
  'a comma-separated list of sentinel host:port pairs (e.g. s1:26379,s2:26379)';
export const SENTINEL_NAME_EXPECTED =
  "the master group's name in the sentinels' configuration (e.g. mymaster)";

/** host:port pairs, or null when one is malformed. */
export function parseSentinels(raw: string): { host: string; port: number }[] | null {
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) return null;
  const out: { host: string; port: number }[] = [];
  for (const p of parts) {
    const m = ENDPOINT.exec(p);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) return null;
    out.push({ host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

/** The Sentinel settings, or null when REDIS_SENTINELS is unset; problems go to `r`. */
export function readSentinel(r: EnvReader): SentinelTarget | null {
  const raw = r.raw('REDIS_SENTINELS');
  if (raw === undefined || raw.trim() === '') return null;
  const sentinels = parseSentinels(raw);
  if (sentinels === null) r.problem('REDIS_SENTINELS', SENTINELS_EXPECTED);
  const name = r.get('REDIS_SENTINEL_NAME', textField(), '').trim();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) r.problem('REDIS_SENTINEL_NAME', SENTINEL_NAME_EXPECTED);
  if (r.get('REDIS_CLUSTER', boolField(), false)) {
    r.problem(
      'REDIS_CLUSTER',
      'unset or false with REDIS_SENTINELS (Sentinel and Cluster are two topologies)',
    );
  }
  for (const v of ['REDIS_HOST', 'REDIS_PORT']) {
    if (r.isSet(v)) r.problem(v, 'unset with REDIS_SENTINELS (the sentinels name the master)');
  }
  const username = r.get('REDIS_SENTINEL_USERNAME', secretField(), null);
  const password = r.get('REDIS_SENTINEL_PASSWORD', secretField(), null);
  return {
    sentinels: sentinels ?? [],
    name,
    ...(username !== null ? { username } : {}),
    ...(password !== null ? { password } : {}),
  };
}

/**
 * With Sentinel, REDIS_URL carries only credentials, rediss:// and the database: its host must
 * be the master group's name and it has no port. The reason it is refused, or null.
 */
export function sentinelUrlProblem(url: string, name: string): string | null {
  const u = new URL(url);
  if (u.hostname === name.toLowerCase() && u.port === '') return null;
  return (
    `with REDIS_SENTINELS, redis[s]://[user:password@]${name}[/db]: the host is REDIS_SENTINEL_NAME ` +
    `and there is no port (the sentinels name the master; a host here is refused)`
  );
}
