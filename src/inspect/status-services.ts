/**
 * Who is running, for `status`: each service's heartbeat (src/services/heartbeat.ts) as that
 * service wrote it (its own mode and exchange host, not the caller's environment), and which
 * consumer-group consumers are leftovers of past restarts (nothing pending, long idle, and no
 * live heartbeat of the same host and pid), so that status can hide them.
 */
import type { ConsumerInfo, Store } from '../store/port.js';

export const HEARTBEAT_SCAN_COUNT = 100;
export const HEARTBEAT_SCAN_LIMIT = 1000;
/** A consumer idle this long with nothing pending and no live process behind it is a leftover. */
export const LEFTOVER_CONSUMER_IDLE_MS = 10 * 60_000;

export interface RunningService {
  key: string;
  service: string;
  /** `<host>-<pid>`: the consumer names of the authorities end with it. */
  instance: string;
  mode: string;
  exchangeHost: string;
  version: string;
  pid: number | null;
  host: string;
  startedAtMs: number | null;
  configHash: string;
  periodMs: number | null;
  /** When the heartbeat was written. */
  atMs: number | null;
  /** The last time the service reached both Redis and the exchange; null: not since it started. */
  lastOkAtMs: number | null;
}

const msOrNull = (v: string | undefined): number | null => {
  if (v === undefined || !/^\d{1,16}$/.test(v)) return null;
  return Number(v);
};

/** A heartbeat hash as read from Redis; fields that do not parse read as null or empty. */
export function parseHeartbeat(key: string, h: Record<string, string>): RunningService | null {
  if (Object.keys(h).length === 0) return null; // expired between SCAN and HGETALL
  return {
    key,
    service: h.service ?? '?',
    instance: h.instance ?? '',
    mode: h.mode ?? '?',
    exchangeHost: h.exchange_host ?? '',
    version: h.version ?? '',
    pid: msOrNull(h.pid),
    host: h.host ?? '',
    startedAtMs: msOrNull(h.started_at),
    configHash: h.config_hash ?? '',
    periodMs: msOrNull(h.period_ms),
    atMs: msOrNull(h.at),
    lastOkAtMs: msOrNull(h.last_ok_at),
  };
}

export async function readRunningServices(
  store: Store,
): Promise<{ services: RunningService[]; complete: boolean }> {
  const scans = await Promise.all(
    store.keys
      .heartbeatPatterns()
      .map((p) => store.scanKeys(p, { count: HEARTBEAT_SCAN_COUNT, limit: HEARTBEAT_SCAN_LIMIT })),
  );
  const keys = scans.flatMap((s) => s.keys);
  const hashes = await store.hgetallInOrder(keys);
  const services = keys
    .map((k, i) => parseHeartbeat(k, hashes[i] ?? {}))
    .filter((s): s is RunningService => s !== null)
    .sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
  return { services, complete: scans.every((s) => s.complete) };
}

/** `gov-<host>-<pid>` → `<host>-<pid>` (the authorities' consumer names, plan-reader.ts). */
function consumerInstance(name: string): string {
  const dash = name.indexOf('-');
  return dash < 0 ? name : name.slice(dash + 1);
}

/** Nothing pending, idle past the bound, and no live heartbeat from its host and pid. */
export function isLeftoverConsumer(c: ConsumerInfo, liveInstances: ReadonlySet<string>): boolean {
  return (
    c.pending === 0 && c.idleMs > LEFTOVER_CONSUMER_IDLE_MS && !liveInstances.has(consumerInstance(c.name))
  );
}
