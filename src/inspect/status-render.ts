/** Text and JSON renderings of a StatusReport (aligned tables, ages, no secrets: none are in it). */
import { clean, table, utc } from './render.js';
import type { StatusReport } from './status.js';
import { seconds } from './verdict.js';
import { LEFTOVER_CONSUMER_IDLE_MS } from './status-services.js';

/** A consumer this idle while holding entries has probably died (the services claim after ~30 s). */
export const STUCK_IDLE_MS = 60_000;

const ago = (now: number, at: number | null) => (at === null ? '?' : `${seconds(Math.max(0, now - at))} ago`);

function armLine(r: StatusReport): string {
  const a = r.arm;
  if (a.wrongType !== null)
    return `DISARMED: ${clean(a.key)} is not a hash (${clean(a.wrongType)}); apply reads it as disarmed. Look at it (redis-cli TYPE), delete it, then arm or disarm`;
  if (!a.stored) return 'ARMED (no arm state stored: the default)';
  const who = `${a.armed ? 'ARMED' : 'DISARMED'} by ${clean(a.by || '?')}`;
  const when = a.atMs === null ? '' : ` at ${utc(a.atMs)} UTC (${ago(r.readAtMs, a.atMs)})`;
  return `${who}${when}: ${clean(a.reason || '-')}`;
}

/** The running services as their heartbeats describe them. */
function servicesLines(r: StatusReport): string[] {
  const L = [
    '',
    `running services (their heartbeats${r.servicesComplete ? '' : ', scan stopped at its limit'})`,
  ];
  if (r.services.length === 0) {
    L.push('  (none: no service of ours has written a heartbeat lately; stopped, or unable to reach Redis)');
    return L;
  }
  L.push(
    ...table([
      ['SERVICE', 'INSTANCE', 'MODE', 'EXCHANGE', 'VERSION', 'STARTED', 'LAST BEAT', 'LAST OK', 'CONFIG'],
      ...r.services.map((s) => [
        clean(s.service),
        clean(s.instance),
        clean(s.mode),
        clean(s.exchangeHost || '?'),
        clean(s.version || '?'),
        ago(r.readAtMs, s.startedAtMs),
        ago(r.readAtMs, s.atMs),
        s.lastOkAtMs === null ? 'never: exchange or Redis unreachable' : ago(r.readAtMs, s.lastOkAtMs),
        clean(s.configHash),
      ]),
    ]),
  );
  const modes = new Set(r.services.map((s) => s.mode));
  if (modes.size > 1 || !modes.has(r.mode))
    L.push(`  note: the services run in ${[...modes].join(', ')}; this shell's APPLY_MODE is ${r.mode}`);
  return L;
}

export function renderStatusText(r: StatusReport): string {
  const L: string[] = [];
  L.push(`quantum-apply status  read ${utc(r.readAtMs)} UTC`);
  L.push('');
  L.push(
    ...table(
      [
        ['mode (this shell)', r.mode],
        ['exchange (this shell)', clean(r.baseUrl)],
        ['redis', `${clean(r.redisUrl)}${r.keyPrefix ? ` (key prefix "${clean(r.keyPrefix)}")` : ''}`],
        ...(r.redisSentinel
          ? [
              [
                'redis sentinels',
                `master "${clean(r.redisSentinel.name)}" via ${clean(r.redisSentinel.sentinels.join(', '))}`,
              ],
            ]
          : []),
        ['arm state', armLine(r)],
        ...(r.killSwitchEnv
          ? [['kill switch', 'APPLY_KILL_SWITCH=true in this environment: every plan BLOCKED']]
          : []),
      ],
      '',
    ),
  );
  L.push(...servicesLines(r));
  L.push('', 'streams');
  L.push(...table([['NAME', 'LENGTH', 'KEY'], ...r.streams.map((s) => [s.name, String(s.length), s.key])]));
  L.push('', 'consumer groups');
  const groupRows = r.groups.flatMap((g) =>
    g.groups.map((x) => [
      g.stream.endsWith('apply.plan') ? 'plan' : 'result',
      clean(x.name),
      String(x.consumers),
      String(x.pending),
      x.lag === null ? '?' : String(x.lag),
      x.lastDeliveredId,
    ]),
  );
  if (groupRows.length === 0) L.push('  (none: no governor / P3.3 has ever attached to the plan stream)');
  else L.push(...table([['STREAM', 'GROUP', 'CONSUMERS', 'PENDING', 'LAG', 'LAST DELIVERED'], ...groupRows]));
  const consumerRows = r.groups.flatMap((g) =>
    g.groups.flatMap((x) =>
      x.consumerList.map((c) => [
        clean(x.name),
        clean(c.name),
        String(c.pending),
        seconds(c.idleMs),
        c.pending > 0 && c.idleMs > STUCK_IDLE_MS
          ? 'idle with pending entries: dead? (XAUTOCLAIM moves them)'
          : '',
      ]),
    ),
  );
  if (consumerRows.length > 0)
    L.push(...table([['GROUP', 'CONSUMER', 'PENDING', 'IDLE', ''], ...consumerRows]));
  const leftovers = r.groups.reduce((n, g) => n + g.groups.reduce((m, x) => m + x.leftoverConsumers, 0), 0);
  if (leftovers > 0)
    L.push(
      `  ${leftovers} consumer(s) left over from past restarts not shown (nothing pending, idle over ${seconds(LEFTOVER_CONSUMER_IDLE_MS)}, no heartbeat; XGROUP DELCONSUMER removes them)`,
    );
  const c = r.ledgerCursor;
  L.push(
    `  P3.3 ledger cursor: ${
      c.id === null
        ? 'not set (P3.3 never followed results)'
        : `${c.id}, ${c.behind === null ? '? (unreadable cursor)' : `${c.behind}${c.atLeast ? '+' : ''}`} results behind`
    }`,
  );
  const p = r.permits;
  L.push(
    '',
    `outstanding permits (not yet consumed; ${p.scanned} keys${p.complete ? '' : ', scan stopped at its limit'})`,
  );
  if (p.byAuthority.length === 0) L.push('  (none)');
  else
    L.push(
      ...table([
        ['AUTHORITY', 'COUNT', 'ALLOW', 'DENY', 'OLDEST'],
        ...p.byAuthority.map((a) => [
          clean(a.authority),
          String(a.count),
          a.allow === undefined ? '' : String(a.allow),
          a.deny === undefined ? '' : String(a.deny),
          a.oldestAgeMs === null ? '?' : seconds(a.oldestAgeMs),
        ]),
      ]),
    );
  const ex = r.executionScan;
  L.push(
    '',
    `last execution per symbol (newest executed=True among ${ex.scanned} results${ex.complete ? '' : ', bounded'})`,
  );
  const symbols = r.governor.symbols.map((s) => s.symbol);
  for (const e of r.lastExecutions) if (!symbols.includes(e.symbol)) symbols.push(e.symbol);
  L.push(
    ...table([
      ['SYMBOL', 'WHEN (UTC)', 'AGO', 'PLAN', 'ORDER'],
      ...symbols.map((s) => {
        const e = r.lastExecutions.find((x) => x.symbol === s);
        if (!e) return [clean(s), '-', '-', '-', 'none found'];
        const order = `${clean(e.side)} ${clean(e.quantity)} filled ${clean(e.executedQty || '?')}, order ${clean(e.orderId || '?')}`;
        return [
          clean(s),
          e.atMs === null ? '?' : utc(e.atMs),
          ago(r.readAtMs, e.atMs),
          clean(e.planId),
          order,
        ];
      }),
    ]),
  );
  const g = r.governor;
  L.push('', `governor today (${g.day} UTC)`);
  L.push(
    ...table([
      ['SYMBOL', 'EXEC TODAY', 'LAST HOUR', 'LAST 5 MIN', 'DAILY TOTAL'],
      ...g.symbols.map((s) => [
        s.symbol,
        String(s.execToday),
        String(s.execHour),
        String(s.exec5Min),
        s.dailyTotal === null ? '-' : clean(s.dailyTotal),
      ]),
    ]),
  );
  const d = g.disarm;
  L.push(
    `  auto-disarm today: ${
      d.fired
        ? `FIRED${d.atMs === null ? '' : ` at ${utc(d.atMs)} UTC (${ago(r.readAtMs, d.atMs)})`}: ${clean(d.reason ?? '?')}`
        : 'not fired'
    }`,
  );
  const canary = r.canary.last;
  L.push(
    '',
    canary === null
      ? 'canaries: none on the canary stream'
      : `canaries: ${r.canary.entries} on the canary stream; newest ${clean(canary.planId)} ${clean(canary.symbol)} ${canary.atMs === null ? '?' : `${utc(canary.atMs)} UTC (${ago(r.readAtMs, canary.atMs)})`}: ${canary.passed ? 'PASSED' : `${canary.refused ? 'REFUSED' : 'FAILED'} ${clean(canary.error || '?')}`}${canary.waitMs === null ? '' : `, wait_ms=${canary.waitMs}`}; handled by ${canary.handledBy === null ? 'the canary command' : `apply ${clean(canary.handledBy.instance)} (host ${clean(canary.handledBy.host)}, pid ${canary.handledBy.pid})`}`,
  );
  const fa = r.failoverAudit;
  const lost = fa.last;
  L.push(
    lost === null
      ? 'failover lost writes: none recorded'
      : `failover lost writes: ${fa.lastHour} in the last hour, ${fa.entries} on the audit stream; newest ${clean(lost.kind)} of ${clean(lost.planId)} ${clean(lost.symbol)} ${lost.atMs === null ? '?' : `${utc(lost.atMs)} UTC (${ago(r.readAtMs, lost.atMs)})`}: ${clean(lost.action)} (explain ${clean(lost.planId)})`,
  );
  return `${L.join('\n')}\n`;
}

export function statusJson(r: StatusReport): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    read_at: iso(r.readAtMs),
    mode: r.mode,
    exchange_base_url: r.baseUrl,
    redis_url: r.redisUrl,
    redis_sentinel: r.redisSentinel,
    key_prefix: r.keyPrefix,
    kill_switch_env: r.killSwitchEnv,
    arm: {
      armed: r.arm.armed,
      reason: r.arm.reason,
      by: r.arm.by,
      at: iso(r.arm.atMs),
      stored: r.arm.stored,
      wrong_type: r.arm.wrongType,
    },
    services: r.services.map((s) => ({
      service: s.service,
      instance: s.instance,
      mode: s.mode,
      exchange_host: s.exchangeHost,
      version: s.version,
      pid: s.pid,
      host: s.host,
      started_at: iso(s.startedAtMs),
      config_hash: s.configHash,
      period_ms: s.periodMs,
      at: iso(s.atMs),
      last_ok_at: iso(s.lastOkAtMs),
    })),
    services_complete: r.servicesComplete,
    streams: Object.fromEntries(
      r.streams.map((s) => [s.name.replace(' ', '_'), { key: s.key, length: s.length }]),
    ),
    groups: r.groups.flatMap((g) =>
      g.groups.map((x) => ({
        stream: g.stream,
        group: x.name,
        consumers: x.consumers,
        pending: x.pending,
        lag: x.lag,
        last_delivered_id: x.lastDeliveredId,
        consumer_list: x.consumerList.map((c) => ({ name: c.name, pending: c.pending, idle_ms: c.idleMs })),
        leftover_consumers: x.leftoverConsumers,
      })),
    ),
    ledger_cursor: { id: r.ledgerCursor.id, behind: r.ledgerCursor.behind, at_least: r.ledgerCursor.atLeast },
    permits: {
      scanned: r.permits.scanned,
      complete: r.permits.complete,
      by_authority: r.permits.byAuthority.map((a) => ({
        authority: a.authority,
        count: a.count,
        ...(a.allow !== undefined ? { allow: a.allow } : {}),
        ...(a.deny !== undefined ? { deny: a.deny } : {}),
        oldest_age_ms: a.oldestAgeMs,
      })),
    },
    last_executions: r.lastExecutions.map((e) => ({
      symbol: e.symbol,
      at: iso(e.atMs),
      plan_id: e.planId,
      side: e.side,
      quantity: e.quantity,
      executed_qty: e.executedQty,
      order_id: e.orderId,
    })),
    execution_scan: r.executionScan,
    governor: {
      day: r.governor.day,
      symbols: r.governor.symbols.map((s) => ({
        symbol: s.symbol,
        exec_today: s.execToday,
        exec_last_hour: s.execHour,
        exec_last_5min: s.exec5Min,
        daily_total: s.dailyTotal,
      })),
      auto_disarm: {
        fired: r.governor.disarm.fired,
        reason: r.governor.disarm.reason,
        at: iso(r.governor.disarm.atMs),
      },
    },
    canary: {
      entries: r.canary.entries,
      last:
        r.canary.last === null
          ? null
          : {
              plan_id: r.canary.last.planId,
              symbol: r.canary.last.symbol,
              at: iso(r.canary.last.atMs),
              passed: r.canary.last.passed,
              error: r.canary.last.error,
              wait_ms: r.canary.last.waitMs,
              handled_by: r.canary.last.handledBy,
              refused: r.canary.last.refused,
            },
    },
    failover_audit: {
      entries: r.failoverAudit.entries,
      last_hour: r.failoverAudit.lastHour,
      last: ((l) =>
        l && { kind: l.kind, plan_id: l.planId, symbol: l.symbol, action: l.action, at: iso(l.atMs) })(
        r.failoverAudit.last,
      ),
    },
  };
}
