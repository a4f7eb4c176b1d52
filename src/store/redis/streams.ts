/** Stream commands of the Redis adapter and the shaping of their replies into StreamEntry. */
import type { CommandClient } from './connection.js';
import type { ConsumerInfo, GroupInfo, StreamEntry } from '../port.js';

type RawEntry = [string, string[]];

function toFields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** Entries trimmed away while pending come back as [id, null]: they are skipped. */
export function toEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  return (raw as (RawEntry | null)[])
    .filter((e): e is RawEntry => Array.isArray(e) && Array.isArray(e[1]))
    .map(([id, flat]) => ({ id, fields: toFields(flat) }));
}

/** A record as alternating field, value arguments (a loop: Object.entries().flat() was ~35× slower). */
export function fieldArgs(fields: Record<string, string>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(fields)) out.push(key, fields[key]!);
  return out;
}

/**
 * The typed xreadgroup (not `call`) so ioredis reshapes RESP3 map replies to the RESP2 shape
 * [[stream, entries]]; its overloads are too narrow for a spread argument list.
 */
async function xreadgroup(conn: CommandClient, args: string[]): Promise<StreamEntry[]> {
  const run = (conn.xreadgroup as unknown as (...a: string[]) => Promise<unknown>).bind(conn);
  const reply = (await run(...args)) as [string, unknown][] | null;
  return reply ? toEntries(reply[0]?.[1]) : [];
}

function whenReady(conn: CommandClient, withinMs: number): Promise<boolean> {
  if (conn.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      conn.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), withinMs);
    conn.on('ready', onReady);
  });
}

export class RedisStreams {
  constructor(
    private readonly cmd: CommandClient,
    private readonly blockingConnection: (id: string) => CommandClient,
  ) {}

  async xadd(stream: string, fields: Record<string, string>, maxLen?: number): Promise<string> {
    const trim = maxLen !== undefined && maxLen > 0 ? ['MAXLEN', '~', String(maxLen)] : [];
    return (await this.cmd.call('XADD', stream, ...trim, '*', ...fieldArgs(fields))) as string;
  }

  async range(cmd: 'XRANGE' | 'XREVRANGE', stream: string, from: string, to: string, count?: number) {
    const extra = count !== undefined ? ['COUNT', String(count)] : [];
    return toEntries(await this.cmd.call(cmd, stream, from, to, ...extra));
  }

  async createGroup(stream: string, group: string, startId: string): Promise<void> {
    try {
      await this.cmd.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  async readGroup(stream: string, group: string, consumer: string, count: number, blockMs: number) {
    const args = ['GROUP', group, consumer, 'COUNT', String(count)];
    if (blockMs <= 0) return xreadgroup(this.cmd, [...args, 'STREAMS', stream, '>']);
    const conn = this.blockingConnection(`${stream}\u0000${group}\u0000${consumer}`);
    // Queued while disconnected, a blocked read would only settle at the client's long safety
    // timeout: during an outage it returns empty after blockMs instead, like a BLOCK timeout.
    if (!(await whenReady(conn, blockMs))) return [];
    return xreadgroup(conn, [...args, 'BLOCK', String(blockMs), 'STREAMS', stream, '>']);
  }

  readOwnPending(stream: string, group: string, consumer: string, count: number) {
    return xreadgroup(this.cmd, ['GROUP', group, consumer, 'COUNT', String(count), 'STREAMS', stream, '0']);
  }

  async autoClaim(stream: string, group: string, consumer: string, minIdleMs: number, count: number) {
    const args = [stream, group, consumer, String(minIdleMs), '0-0', 'COUNT', String(count)];
    const reply = (await this.cmd.call('XAUTOCLAIM', ...args)) as [string, unknown, unknown?];
    return toEntries(reply[1]);
  }

  /** XINFO GROUPS / CONSUMERS rows (flat field-value lists), [] when the stream or group is absent. */
  private async info(args: string[]): Promise<Map<string, unknown>[]> {
    let reply: unknown[];
    try {
      reply = (await this.cmd.call('XINFO', ...args)) as unknown[];
    } catch (err) {
      if (/no such key|NOGROUP/i.test((err as Error).message)) return [];
      throw err;
    }
    return reply.map((raw) => {
      const f = new Map<string, unknown>();
      const flat = raw as unknown[];
      for (let i = 0; i + 1 < flat.length; i += 2) f.set(String(flat[i]), flat[i + 1]);
      return f;
    });
  }

  async groups(stream: string): Promise<GroupInfo[]> {
    return (await this.info(['GROUPS', stream])).map((f) => {
      const lag = f.get('lag');
      return {
        name: String(f.get('name')),
        consumers: Number(f.get('consumers')),
        pending: Number(f.get('pending')),
        lastDeliveredId: String(f.get('last-delivered-id')),
        lag: lag === null || lag === undefined ? null : Number(lag),
      };
    });
  }

  async consumers(stream: string, group: string): Promise<ConsumerInfo[]> {
    return (await this.info(['CONSUMERS', stream, group])).map((f) => ({
      name: String(f.get('name')),
      pending: Number(f.get('pending')),
      idleMs: Number(f.get('idle')),
    }));
  }
}
