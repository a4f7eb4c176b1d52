/**
 * The Lua scripts of the Redis adapter (one file per atomic operation, see lua/): the one loader,
 * and the typed outcomes of apply's core scripts (the authorities' and the leases' sit beside
 * the code that runs them).
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandClient } from './connection.js';
import type { ConsumeOutcome, PublishPlanOutcome } from '../port.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * From src (tsx, vitest) the scripts sit next to this module; a compiled build (dist/store/redis)
 * reads them from the build's own copy when present, else from the source tree beside dist.
 */
export function luaDir(): string {
  const candidates = [join(here, 'lua'), join(here, '../../../src/store/redis/lua')];
  const found = candidates.find((d) => existsSync(join(d, 'consumePermits-N.lua')));
  if (!found) throw new Error(`Lua scripts not found; looked in ${candidates.join(', ')}`);
  return found;
}

/** A script bound to its client: the keys, then the arguments (numkeys first for a -N script). */
export type ScriptRunner = (...args: (string | number)[]) => Promise<unknown>;

const SCRIPT_FILE = /^([a-z][A-Za-z]*)-(\d+|N)\.lua$/;

/**
 * The one loader: `lua/<verbNoun>-<N>.lua` becomes the client's command `qa<VerbNoun>` taking
 * N keys; for `-N` the caller passes the key count first. ioredis's defineCommand sends EVAL
 * once per connection, then EVALSHA, re-sent on NOSCRIPT (never inside MULTI). A client that
 * has the command already keeps it, so adapters sharing a client define each script once.
 */
export function defineScript(client: CommandClient, file: string): ScriptRunner {
  const m = SCRIPT_FILE.exec(file);
  if (!m) throw new Error(`Lua script ${file}: expected <verbNoun>-<N>.lua`);
  const [, verb = '', keys] = m;
  const name = `qa${verb.charAt(0).toUpperCase()}${verb.slice(1)}`;
  const commands = client as unknown as Record<string, ScriptRunner | undefined>;
  if (!commands[name]) {
    const lua = readFileSync(join(luaDir(), file), 'utf8');
    client.defineCommand(name, keys === 'N' ? { lua } : { lua, numberOfKeys: Number(keys) });
  }
  return commands[name]!.bind(client);
}

/** Return codes each script declares in its header (tests compare them with the Lua files). */
export const CONSUME_CODES = ['consumed', 'replayed', 'missing', 'consumed_elsewhere'] as const;
export const PUBLISH_CODES = ['published', 'exists'] as const;
export const PUBLISH_PLAN_CODES = ['handled', 'duplicate', 'published', 'exists'] as const;

export class ScriptReplyError extends Error {
  constructor(script: string, reply: unknown) {
    super(`${script}: unexpected reply ${JSON.stringify(reply)?.slice(0, 200)}`);
    this.name = 'ScriptReplyError';
  }
}

function asText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}

export function parseConsumeReply(reply: unknown, expected: number): ConsumeOutcome {
  if (!Array.isArray(reply) || reply.length === 0) throw new ScriptReplyError('consumePermits', reply);
  const code = asText(reply[0]) as (typeof CONSUME_CODES)[number] | null;
  const rest = reply.slice(1);
  switch (code) {
    case 'consumed':
    case 'replayed': {
      const bodies = rest.map(asText);
      if (bodies.length !== expected || bodies.some((b) => b === null)) {
        throw new ScriptReplyError('consumePermits', reply);
      }
      return { kind: 'consumed', bodies: bodies as string[], replayed: code === 'replayed' };
    }
    case 'missing': {
      const ttlMs = rest.map((v) => Number(v));
      if (ttlMs.length !== expected || ttlMs.some((t) => !Number.isInteger(t))) {
        throw new ScriptReplyError('consumePermits', reply);
      }
      return { kind: 'missing', ttlMs };
    }
    case 'consumed_elsewhere':
      return { kind: 'consumed_elsewhere' };
    default:
      throw new ScriptReplyError('consumePermits', reply);
  }
}

export type PublishOutcome = { kind: 'published'; id: string } | { kind: 'exists' };

export function parsePublishReply(reply: unknown): PublishOutcome {
  if (!Array.isArray(reply) || reply.length === 0) throw new ScriptReplyError('publishOnce', reply);
  const code = asText(reply[0]) as (typeof PUBLISH_CODES)[number] | null;
  switch (code) {
    case 'published': {
      const id = asText(reply[1]);
      if (!id) throw new ScriptReplyError('publishOnce', reply);
      return { kind: 'published', id };
    }
    case 'exists':
      return { kind: 'exists' };
    default:
      throw new ScriptReplyError('publishOnce', reply);
  }
}

export function parsePublishPlanReply(reply: unknown): PublishPlanOutcome {
  if (!Array.isArray(reply) || reply.length === 0) throw new ScriptReplyError('publishPlan', reply);
  const code = asText(reply[0]);
  const flag = (v: unknown) => {
    const t = asText(v);
    if (t !== '0' && t !== '1') throw new ScriptReplyError('publishPlan', reply);
    return t === '1';
  };
  switch (code) {
    case 'handled':
    case 'duplicate':
      return { kind: code };
    case 'published': {
      const id = asText(reply[1]);
      if (!id) throw new ScriptReplyError('publishPlan', reply);
      return { kind: 'published', id, dedupeSet: flag(reply[2]) };
    }
    case 'exists':
      return { kind: 'exists', dedupeSet: flag(reply[1]) };
    default:
      throw new ScriptReplyError('publishPlan', reply);
  }
}
