/**
 * REDIS_URL: a password holding a reserved character that is not percent-encoded still parses,
 * as another URL: `redis://app:p@ss/word@10.0.0.5:6390/0` names host `ss` with password `p`.
 * ioredis reads the URL with the same parser we use here, so we parse it once and refuse every
 * shape a misplaced credential leaves behind, rather than guess what was meant.
 */
import { z } from 'zod';
import type { Field } from './env.js';

export const REDIS_URL_EXPECTED =
  'a redis:// or rediss:// URL, [user:password@]host[:port][/db][?options], whose user name and ' +
  'password percent-encode reserved characters (@ → %40, / → %2F, # → %23, ? → %3F, % → %25, ' +
  'space → %20, : in a user name → %3A; encodeURIComponent does it)';

/** Why a REDIS_URL is refused (a closed set), null when it is accepted. */
export type RedisUrlProblem =
  | 'not_a_url'
  | 'control_or_space'
  | 'at_sign_in_userinfo'
  | 'at_sign_after_host'
  | 'fragment'
  | 'path_not_a_db'
  | 'bad_percent_escape';

const PROTOCOLS = ['redis:', 'rediss:'];

function decodes(s: string): boolean {
  try {
    decodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

export function redisUrlProblem(url: string): RedisUrlProblem | null {
  // The parser silently drops tabs and newlines, which would change a password.
  if ([...url].some((c) => c <= ' ' || c === '\x7f')) return 'control_or_space';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not_a_url';
  }
  if (!PROTOCOLS.includes(u.protocol) || u.hostname === '') return 'not_a_url';
  // The parser takes the last "@" of the authority as the separator and encodes earlier ones:
  // an unencoded "@" in a password is accepted there, but not by every other client of the fleet.
  const head = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url);
  if (!head) return 'not_a_url';
  if ((head[1] ?? '').split('@').length > 2) return 'at_sign_in_userinfo';
  // A "/", "?" or "#" in a password ends the authority early: the real "@" lands after the host.
  if (url.slice(head[0].length).includes('@')) return 'at_sign_after_host';
  if (url.includes('#')) return 'fragment';
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,9}$/.test(u.pathname)) return 'path_not_a_db';
  if (!decodes(u.username) || !decodes(u.password)) return 'bad_percent_escape';
  return null;
}

/** REDIS_URL, trailing slashes dropped, refused unless redisUrlProblem() finds nothing. */
export function redisUrlField(): Field<string> {
  return {
    expected: REDIS_URL_EXPECTED,
    schema: z
      .string()
      .trim()
      .transform((s) => s.replace(/\/+$/, ''))
      .refine((s) => redisUrlProblem(s) === null),
  };
}
