/**
 * In-process streams with consumer groups, following Redis semantics: ids `<ms>-<seq>`,
 * pending entries lists with delivery counts and delivery times (for XAUTOCLAIM idle checks),
 * MAXLEN trimming (exact, which `MAXLEN ~` allows).
 */
import type { ConsumerInfo, GroupInfo, StreamEntry } from '../port.js';
import { cmpSid, formatSid, parseSid, MIN_SID, type Sid } from './stream-ids.js';

interface Stored {
  sid: Sid;
  id: string;
  fields: Record<string, string>;
}

interface Pending {
  consumer: string;
  deliveredAt: number;
  count: number;
}

interface Group {
  lastDelivered: Sid;
  consumers: Map<string, number>;
  pel: Map<string, Pending>;
}

export class MemStream {
  private entries: Stored[] = [];
  private last: Sid = MIN_SID;
  private readonly groups = new Map<string, Group>();

  add(nowMs: number, fields: Record<string, string>, maxLen?: number): string {
    const sid = nowMs > this.last.ms ? { ms: nowMs, seq: 0 } : { ms: this.last.ms, seq: this.last.seq + 1 };
    this.last = sid;
    const id = formatSid(sid);
    this.entries.push({ sid, id, fields: { ...fields } });
    if (maxLen !== undefined && maxLen > 0 && this.entries.length > maxLen) {
      this.entries = this.entries.slice(this.entries.length - maxLen);
    }
    return id;
  }

  get length(): number {
    return this.entries.length;
  }

  range(start: string, end: string, count?: number, reverse = false): StreamEntry[] {
    const lo = parseSid(start, 'start');
    const hi = parseSid(end, 'end');
    const hits = this.entries.filter((e) => cmpSid(e.sid, lo) >= 0 && cmpSid(e.sid, hi) <= 0);
    if (reverse) hits.reverse();
    return hits.slice(0, count ?? hits.length).map(copy);
  }

  createGroup(group: string, startId: string): void {
    if (this.groups.has(group)) return;
    const lastDelivered = startId === '$' ? this.last : parseSid(startId, 'start');
    this.groups.set(group, { lastDelivered, consumers: new Map(), pel: new Map() });
  }

  private group(name: string): Group {
    const g = this.groups.get(name);
    if (!g) throw new Error(`NOGROUP No such consumer group '${name}'`);
    return g;
  }

  readNew(group: string, consumer: string, count: number, nowMs: number): StreamEntry[] {
    const g = this.group(group);
    g.consumers.set(consumer, nowMs);
    const fresh = this.entries.filter((e) => cmpSid(e.sid, g.lastDelivered) > 0).slice(0, count);
    for (const e of fresh) {
      g.pel.set(e.id, { consumer, deliveredAt: nowMs, count: 1 });
      g.lastDelivered = e.sid;
    }
    return fresh.map(copy);
  }

  readOwnPending(group: string, consumer: string, count: number, nowMs: number): StreamEntry[] {
    const g = this.group(group);
    g.consumers.set(consumer, nowMs);
    const out: StreamEntry[] = [];
    for (const id of this.sortedPel(g)) {
      if (out.length >= count) break;
      if (g.pel.get(id)!.consumer !== consumer) continue;
      const e = this.find(id);
      if (e) out.push(copy(e));
    }
    return out;
  }

  ack(group: string, ids: string[]): number {
    const g = this.groups.get(group);
    if (!g) return 0;
    let n = 0;
    for (const id of ids) if (g.pel.delete(id)) n++;
    return n;
  }

  autoClaim(group: string, consumer: string, minIdleMs: number, count: number, nowMs: number): StreamEntry[] {
    const g = this.group(group);
    g.consumers.set(consumer, nowMs);
    const out: StreamEntry[] = [];
    for (const id of this.sortedPel(g)) {
      if (out.length >= count) break;
      const p = g.pel.get(id)!;
      if (nowMs - p.deliveredAt < minIdleMs) continue;
      const e = this.find(id);
      if (!e) {
        g.pel.delete(id); // trimmed away: Redis drops it from the PEL too
        continue;
      }
      g.pel.set(id, { consumer, deliveredAt: nowMs, count: p.count + 1 });
      out.push(copy(e));
    }
    return out;
  }

  /** Delivery count and idle time of one pending entry (tests, tools). */
  pendingInfo(
    group: string,
    id: string,
    nowMs: number,
  ): { consumer: string; idleMs: number; count: number } | null {
    const p = this.groups.get(group)?.pel.get(id);
    return p ? { consumer: p.consumer, idleMs: nowMs - p.deliveredAt, count: p.count } : null;
  }

  groupInfos(): GroupInfo[] {
    return [...this.groups.entries()].map(([name, g]) => ({
      name,
      consumers: g.consumers.size,
      pending: g.pel.size,
      lastDeliveredId: formatSid(g.lastDelivered),
      lag: this.entries.filter((e) => cmpSid(e.sid, g.lastDelivered) > 0).length,
    }));
  }

  consumerInfos(group: string, nowMs: number): ConsumerInfo[] {
    const g = this.groups.get(group);
    if (!g) return [];
    return [...g.consumers.entries()].map(([name, seenAt]) => ({
      name,
      pending: [...g.pel.values()].filter((p) => p.consumer === name).length,
      idleMs: nowMs - seenAt,
    }));
  }

  private sortedPel(g: Group): string[] {
    return [...g.pel.keys()].sort((a, b) => cmpSid(parseSid(a, 'start'), parseSid(b, 'start')));
  }

  private find(id: string): Stored | undefined {
    return this.entries.find((e) => e.id === id);
  }
}

function copy(e: Stored): StreamEntry {
  return { id: e.id, fields: { ...e.fields } };
}
