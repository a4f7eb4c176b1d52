/**
 * `status`: the system at a glance, read from Redis with bounded reads only (SCAN with COUNT and
 * a key limit, XREVRANGE pages up to the stream cap). The running services' mode and exchange
 * host come from their heartbeats; the caller's own mode and URLs from the environment, labelled
 * as such. Credentials are never read into the report.
 */
import { failoverAudit, type FailoverAuditStatus } from './status-audit.js';
import { execCounts, utcDay } from '../domain/governor/gates.js';
import { redactUrl } from '../ops/config/env.js';
import { parseArmState, readArmHash } from '../services/arm-state.js';
import type { ConsumerInfo, GroupInfo, Store } from '../store/port.js';
import { inspectSymbols, type InspectConfig } from './config.js';
import { entryMs, scanBackwards, type ScanOptions } from './stream-scan.js';
import { isLeftoverConsumer, readRunningServices, type RunningService } from './status-services.js';

export const PERMIT_SCAN_COUNT = 500;
export const PERMIT_SCAN_LIMIT = 10_000;
const CURSOR_LAG_LIMIT = 1000;

export interface PermitCount {
  authority: string;
  count: number;
  /** P3.3 only: how many allow / deny. */
  allow?: number;
  deny?: number;
  /** Age of the oldest body with a readable created_at (ms), null when none had one. */
  oldestAgeMs: number | null;
}

export interface LastExecution {
  symbol: string;
  atMs: number | null;
  planId: string;
  side: string;
  quantity: string;
  executedQty: string;
  orderId: string;
}

export interface SymbolCounts {
  symbol: string;
  execToday: number;
  execHour: number;
  exec5Min: number;
  /** Running total for the UTC day as stored (notional USD, or quantity without a price). */
  dailyTotal: string | null;
}

export interface StatusReport {
  readAtMs: number;
  mode: string;
  baseUrl: string;
  redisUrl: string;
  /** REDIS_SENTINELS: the master group and the sentinels asked for it; null without Sentinel. */
  redisSentinel: { name: string; sentinels: string[] } | null;
  keyPrefix: string;
  killSwitchEnv: boolean;
  arm: {
    armed: boolean;
    reason: string;
    by: string;
    atMs: number | null;
    stored: boolean;
    /** The arm key as named in Redis, and the server's error when it holds another type. */
    key: string;
    wrongType: string | null;
  };
  streams: { name: string; key: string; length: number }[];
  /** The services' heartbeats: what is running, with its own mode and exchange host. */
  services: RunningService[];
  servicesComplete: boolean;
  /** Consumers left over from past restarts (see isLeftoverConsumer) are counted, not listed. */
  groups: {
    stream: string;
    groups: (GroupInfo & { consumerList: ConsumerInfo[]; leftoverConsumers: number })[];
  }[];
  ledgerCursor: { id: string | null; behind: number | null; atLeast: boolean };
  permits: { scanned: number; complete: boolean; byAuthority: PermitCount[] };
  lastExecutions: LastExecution[];
  executionScan: { scanned: number; complete: boolean };
  governor: {
    day: string;
    symbols: SymbolCounts[];
    disarm: { fired: boolean; reason: string | null; atMs: number | null };
  };
  /** Canaries (PROTOCOL.md "Canary plans"): entries on the canary stream and the newest one. */
  canary: { entries: number; last: LastCanary | null };
  /** Lost writes the failover reconciliation recorded: in all, within the last hour, the newest. */
  failoverAudit: FailoverAuditStatus;
}

export interface LastCanary {
  planId: string;
  symbol: string;
  atMs: number | null;
  passed: boolean;
  error: string;
  waitMs: number | null;
  /** The apply process that handled it (`{instance, host, pid}` of the entry), null when not recorded. */
  handledBy: { instance: string; host: string; pid: number } | null;
  /** The request was refused (rate limit, count): no canary ran. */
  refused: boolean;
}

async function lastCanary(store: Store): Promise<StatusReport['canary']> {
  const k = store.keys;
  const [entries, newest] = await Promise.all([
    store.xlen(k.canaryStream()),
    store.xrevrange(k.canaryStream(), '+', '-', 1),
  ]);
  const e = newest[0];
  if (!e) return { entries, last: null };
  const wait = Number(e.fields.wait_ms);
  return {
    entries,
    last: {
      planId: e.fields.plan_id ?? '',
      symbol: e.fields.symbol ?? '',
      atMs: entryMs(e.id),
      passed: e.fields.passed === 'True',
      error: e.fields.error ?? '',
      waitMs: e.fields.wait_ms !== undefined && Number.isFinite(wait) ? wait : null,
      handledBy: handlerOf(e.fields.handled_by),
      refused: e.fields.refused === 'True',
    },
  };
}

function handlerOf(text: string | undefined): LastCanary['handledBy'] {
  const o = jsonObject(text);
  if (o === null || typeof o.instance !== 'string') return null;
  return { instance: o.instance, host: String(o.host ?? ''), pid: Number(o.pid) };
}

function jsonObject(text: string | null | undefined): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `quantum:permit:<id>` → governor; `quantum:permit:<name>:<id>` → name. */
export function permitAuthority(key: string, permitPrefix: string): string {
  const rest = key.slice(permitPrefix.length);
  const colon = rest.indexOf(':');
  // Cluster key mode: quantum:permit:{<symbol>}:<id> is the governor's.
  return colon < 0 || rest.startsWith('{') ? 'governor' : rest.slice(0, colon);
}

async function countPermits(store: Store, nowMs: number): Promise<StatusReport['permits']> {
  const pattern = store.keys.permitPattern();
  const scan = await store.scanKeys(pattern, { count: PERMIT_SCAN_COUNT, limit: PERMIT_SCAN_LIMIT });
  const counts = new Map<string, PermitCount>();
  for (let i = 0; i < scan.keys.length; i += PERMIT_SCAN_COUNT) {
    const keys = scan.keys.slice(i, i + PERMIT_SCAN_COUNT);
    const bodies = await store.mget(keys);
    keys.forEach((key, j) => {
      const body = bodies[j];
      if (body === null || body === undefined) return; // expired between SCAN and MGET
      const authority = permitAuthority(key, pattern.slice(0, -1));
      const c = counts.get(authority) ?? { authority, count: 0, oldestAgeMs: null };
      c.count++;
      const o = jsonObject(body);
      if (authority === 'p33') {
        if (o?.allow === true) c.allow = (c.allow ?? 0) + 1;
        else c.deny = (c.deny ?? 0) + 1;
      }
      const created = typeof o?.created_at === 'number' ? o.created_at * 1000 : NaN;
      if (Number.isFinite(created)) c.oldestAgeMs = Math.max(c.oldestAgeMs ?? 0, nowMs - created);
      counts.set(authority, c);
    });
  }
  const byAuthority = [...counts.values()].sort((a, b) => a.authority.localeCompare(b.authority));
  return { scanned: scan.keys.length, complete: scan.complete, byAuthority };
}

async function lastExecutions(store: Store, symbols: string[], opts: ScanOptions) {
  const newest = new Map<string, LastExecution>();
  const scan = await scanBackwards(
    store,
    store.keys.resultStream(),
    (e) => {
      const s = e.fields.symbol ?? '';
      if (e.fields.executed !== 'True' || newest.has(s)) return false;
      let step: Record<string, unknown> = {};
      try {
        const steps = JSON.parse(e.fields.steps_results ?? '[]') as unknown[];
        step = (steps[0] as Record<string, unknown>) ?? {};
      } catch {
        // steps unreadable: the entry still says executed
      }
      const t = (v: unknown) => (v === undefined || v === null ? '' : String(v));
      newest.set(s, {
        symbol: s,
        atMs: entryMs(e.id),
        planId: e.fields.plan_id ?? '',
        side: t(step.side),
        quantity: t(step.quantity),
        executedQty: t(step.executed_qty),
        orderId: t(step.order_id),
      });
      return true;
    },
    { ...opts, stop: () => symbols.every((s) => newest.has(s)) },
  );
  const list = [...newest.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
  return { list, scan: { scanned: scan.scanned, complete: scan.complete } };
}

async function governorCounts(store: Store, symbols: string[], nowMs: number) {
  const day = utcDay(nowMs);
  const dayStartSec = Date.parse(`${day}T00:00:00Z`) / 1000;
  const k = store.keys;
  const perSymbol = await Promise.all(
    symbols.map(async (symbol): Promise<SymbolCounts> => {
      const [list, daily] = await Promise.all([
        store.lrange(k.governorExec(symbol), 0, -1),
        store.get(k.governorDaily(symbol, day)),
      ]);
      const c = execCounts(list, nowMs / 1000);
      const today = list.filter((v) => Number(v) >= dayStartSec).length;
      return { symbol, execToday: today, execHour: c.hour, exec5Min: c.fiveMin, dailyTotal: daily };
    }),
  );
  const disarmBody = await store.get(k.governorDisarm(day));
  const d = jsonObject(disarmBody);
  return {
    day,
    symbols: perSymbol,
    disarm: {
      fired: disarmBody !== null,
      reason: typeof d?.reason === 'string' ? d.reason : disarmBody === null ? null : 'unreadable',
      atMs: typeof d?.timestamp === 'number' ? Math.round(d.timestamp * 1000) : null,
    },
  };
}

async function ledgerCursor(store: Store): Promise<StatusReport['ledgerCursor']> {
  const id = await store.get(store.keys.ledgerCursor());
  if (id === null) return { id: null, behind: null, atLeast: false };
  try {
    const after = await store.xrange(store.keys.resultStream(), id, '+', CURSOR_LAG_LIMIT + 1);
    const behind = after.filter((e) => e.id !== id).length;
    return { id, behind, atLeast: behind >= CURSOR_LAG_LIMIT };
  } catch {
    return { id, behind: null, atLeast: false }; // a hand-edited cursor that is not an id
  }
}

export async function readStatus(
  store: Store,
  cfg: InspectConfig,
  opts: ScanOptions = {},
): Promise<StatusReport> {
  const k = store.keys;
  const nowMs = await store.serverTimeMs();
  const symbols = inspectSymbols(cfg);
  const [armRead, planLen, resultLen, eventsLen, decisionsLen, planGroups, resultGroups] = await Promise.all([
    readArmHash(store),
    store.xlen(k.planStream()),
    store.xlen(k.resultStream()),
    store.xlen(k.governorEvents()),
    store.xlen(k.governorDecisions()),
    store.groups(k.planStream()),
    store.groups(k.resultStream()),
  ]);
  const arm = parseArmState(armRead.hash);
  const running = await readRunningServices(store);
  const live = new Set(running.services.map((s) => s.instance));
  const withConsumers = (stream: string, groups: GroupInfo[]) =>
    Promise.all(
      groups.map(async (g) => {
        const all = await store.consumers(stream, g.name);
        const consumerList = all.filter((c) => !isLeftoverConsumer(c, live));
        return { ...g, consumerList, leftoverConsumers: all.length - consumerList.length };
      }),
    );
  const [cursor, permits, execs, governor, planG, resultG, canary, audit] = await Promise.all([
    ledgerCursor(store),
    countPermits(store, nowMs),
    lastExecutions(store, symbols, opts),
    governorCounts(store, symbols, nowMs),
    withConsumers(k.planStream(), planGroups),
    withConsumers(k.resultStream(), resultGroups),
    lastCanary(store),
    failoverAudit(store, nowMs),
  ]);
  return {
    readAtMs: nowMs,
    mode: cfg.mode,
    baseUrl: redactUrl(cfg.baseUrl),
    redisUrl: redactUrl(cfg.redis.url),
    redisSentinel: cfg.redis.sentinel
      ? {
          name: cfg.redis.sentinel.name,
          sentinels: cfg.redis.sentinel.sentinels.map((x) => `${x.host}:${x.port}`),
        }
      : null,
    keyPrefix: cfg.redis.keyPrefix,
    killSwitchEnv: cfg.killSwitch,
    arm: {
      armed: arm.armed,
      reason: arm.reason,
      by: arm.by,
      atMs: arm.at > 0 ? arm.at : null,
      stored: Object.keys(armRead.hash).length > 0,
      key: k.armState(),
      wrongType: armRead.wrongType,
    },
    services: running.services,
    servicesComplete: running.complete,
    streams: [
      { name: 'plan', key: k.planStream(), length: planLen },
      { name: 'result', key: k.resultStream(), length: resultLen },
      { name: 'governor events', key: k.governorEvents(), length: eventsLen },
      { name: 'governor decisions', key: k.governorDecisions(), length: decisionsLen },
    ],
    groups: [
      { stream: k.planStream(), groups: planG },
      ...(resultG.length > 0 ? [{ stream: k.resultStream(), groups: resultG }] : []),
    ],
    ledgerCursor: cursor,
    permits,
    lastExecutions: execs.list,
    executionScan: execs.scan,
    governor,
    canary,
    failoverAudit: audit,
  };
}
