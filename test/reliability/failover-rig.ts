/**
 * The failover suites' load: the paper exchange, the governor, the position brain and the apply
 * layer, each a process of its own (cli-worker.ts), pointed at one Redis topology by `redisEnv`;
 * a feeder writing proposals at a fixed rate over many symbols (one plan in flight per symbol)
 * through a store on the same topology; and the audit read from the exchange's own journal
 * (GET /paper/orders) and the streams.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { syntheticMarkets } from '../../src/exchange/paper/markets.js';
import { loadApplyConfig } from '../../src/ops/config.js';
import { openStoreFor, type Store } from '../../src/store/index.js';
import { freshComputedAt } from '../helpers/decide.js';
import { freePort } from '../helpers/redis-server.js';
import { sleep, until } from '../helpers/wait.js';
import { planOfClientId } from './rig.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WORKER = join(ROOT, 'test/reliability/cli-worker.ts');
const LOG_DIR = mkdtempSync(join(tmpdir(), 'qa-failover-'));
/** An order leaves after its intent write: one the old master acknowledged may reach the
 * exchange this long after the master stopped (an HTTP send on a loaded machine). */
const SEND_MARGIN_MS = 3000;
export const FAILOVER_SYMBOLS = syntheticMarkets(32).map((m) => m.symbol);

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function spawnCli(name: string, args: string[], env: Record<string, string>): Proc {
  const log = join(LOG_DIR, `${name}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return { name, child, log };
}

async function healthy(p: Proc, url: string): Promise<void> {
  await until(
    async () => {
      if (p.child.exitCode !== null)
        throw new Error(`${p.name} exited:\n${readFileSync(p.log, 'utf8').slice(-2000)}`);
      return fetch(url).then(
        (r) => r.status === 200,
        () => false,
      );
    },
    60_000,
    `${p.name} healthy`,
    200,
  );
}

async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 8000);
  await exited;
  clearTimeout(t);
}

export interface Order {
  clientOrderId: string;
  symbol: string;
  /** When the exchange booked it (the paper exchange's clock: this machine's). */
  time: number;
}

/**
 * A write the failover lost, found by the audit: what is missing, for which plan, and when the
 * thing it records happened (an order's booking, a plan entry's stream id time).
 */
export interface LostWrite {
  kind: 'consume_receipt' | 'result' | 'plan_entry' | 'intent';
  plan: string;
  atMs: number;
}

/** One entry of the failover audit stream, as the rig reads it. */
export interface AuditEntry {
  kind: string;
  plan: string;
  action: string;
  /** When the exchange booked the order, and when the entry was written (ms). */
  orderTime: number;
  writtenAt: number;
}

export interface FailoverAudit {
  proposals: number;
  plans: number;
  executePlans: number;
  orders: number;
  duplicateOrders: number;
  /** Orders whose plan has no consume receipt (no consumed permit set on record). */
  unpermitted: string[];
  /** EXECUTE plans with no result and no reconciled entry. */
  unaccounted: string[];
  /** Plans with more than one result. */
  doubleResults: string[];
  /** Orders whose plan left no entry on the plan stream (the entry was lost with the master). */
  ordersOfLostPlans: number;
  /** Every gap above, with its time: lost writes must all date from before the switch. */
  lost: LostWrite[];
  /** Orders whose plan has neither a result nor a reconciled entry. */
  ordersWithoutResult: string[];
  /**
   * Silent gaps: an order whose plan entry, consume receipt or intent is gone with no failover
   * audit entry saying so (`<kind>:<plan>`).
   */
  silent: string[];
  /** The failover audit stream. */
  audited: AuditEntry[];
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

export class FailoverLoad {
  private readonly procs: Proc[] = [];
  private store: Store | null = null;
  paperUrl = '';
  private readonly busy = new Map<string, number>();
  private lastResult = '-';
  proposals = 0;
  /** When each order reached the exchange (ms since epoch), from the journal. */
  private feeding = false;
  private feeder: Promise<void> | null = null;

  constructor(
    private readonly redisEnv: Record<string, string>,
    private readonly prefix: string,
  ) {}

  async start(): Promise<void> {
    const paperPort = await freePort();
    const paper = spawnCli(
      'paper',
      [
        'paper-exchange',
        '--port',
        String(paperPort),
        '--synthetic-symbols',
        '32',
        '--synthetic-position',
        '1000',
        '--hold-positions',
      ],
      { PAPER_EXCHANGE_API_KEY: 'paper-key', PAPER_EXCHANGE_API_SECRET: 'paper-secret' },
    );
    this.procs.push(paper);
    this.paperUrl = `http://127.0.0.1:${paperPort}`;
    await healthy(paper, `${this.paperUrl}/paper/orders`);
    const list = FAILOVER_SYMBOLS.join(',');
    const env = {
      ...this.redisEnv,
      REDIS_KEY_PREFIX: this.prefix,
      LOG_LEVEL: 'info',
      APPLY_MODE: 'testnet',
      BINANCE_FUTURES_BASE_URL: this.paperUrl,
      BINANCE_TESTNET_API_KEY: 'paper-key',
      BINANCE_TESTNET_API_SECRET: 'paper-secret',
      SYMBOLS: list,
      APPLY_ALLOWLIST: list,
      P33_ALLOWLIST: list,
      APPLY_POLL_SEC: '0.5',
      APPLY_PERMIT_STEP_MS: '50',
      APPLY_PERMIT_WAIT_MS: '3000',
      P33_POLL_SEC: '0.5',
      P33_COOLDOWN_SEC: '0',
      P33_QTY_TOLERANCE_PCT: '100',
      GOV_MAX_EXEC_PER_HOUR: '1000000000',
      GOV_MAX_EXEC_PER_5MIN: '1000000000',
      GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD: '1000000000000000',
      GOV_MAX_REDUCE_QTY_PER_DAY: '1000000000000000',
    };
    for (const [cmd, portVar] of [
      ['governor', 'METRICS_PORT'],
      ['position-brain', 'P33_METRICS_PORT'],
      ['apply', 'APPLY_METRICS_PORT'],
    ] as const) {
      const port = await freePort();
      const p = spawnCli(cmd, [cmd], { ...env, [portVar]: String(port) });
      this.procs.push(p);
      await healthy(p, `http://127.0.0.1:${port}/healthz`);
    }
    this.store = await openStoreFor(loadApplyConfig(env).redis, { commandTimeout: 1000 });
  }

  private get s(): Store {
    if (!this.store) throw new Error('not started');
    return this.store;
  }

  /** Proposals at `perSec` while feeding, a symbol at a time (free again once its result is read). */
  feed(perSec: number): void {
    this.feeding = true;
    this.feeder = (async () => {
      const every = 1000 / perSec;
      let next = Date.now();
      while (this.feeding) {
        await this.readResults();
        const now = Date.now();
        for (const [sym, at] of this.busy) if (now - at > 8000) this.busy.delete(sym); // lost: audited later
        const idle = FAILOVER_SYMBOLS.find((x) => !this.busy.has(x));
        if (idle && now >= next) {
          next += every;
          try {
            await this.s.hset(this.s.keys.proposal(idle), {
              harvest_action: 'PARTIAL_50',
              kill_score: '0.3',
              new_sl_proposed: '',
              computed_at_utc: freshComputedAt(),
            });
            this.busy.set(idle, now);
            this.proposals++;
          } catch {
            // The store is between masters: the next turn tries again.
          }
        }
        await sleep(Math.max(1, Math.min(every, next - Date.now())));
      }
    })();
  }

  private async readResults(): Promise<void> {
    try {
      const entries = await this.s.xrange(
        this.s.keys.resultStream(),
        this.lastResult === '-' ? '-' : `(${this.lastResult}`,
        '+',
        500,
      );
      for (const e of entries) {
        this.lastResult = e.id;
        if (e.fields.symbol) this.busy.delete(e.fields.symbol);
      }
    } catch {
      // between masters
    }
  }

  async stopFeeding(): Promise<void> {
    this.feeding = false;
    await this.feeder;
  }

  async orders(): Promise<Order[]> {
    return (await (await fetch(`${this.paperUrl}/paper/orders`)).json()) as Order[];
  }

  /** Waits until every EXECUTE plan has a result (or `ms` passed), then audits. */
  async drainAndAudit(ms = 30_000): Promise<FailoverAudit> {
    await until(
      async () => (await this.audit().catch(() => null))?.unaccounted.length === 0,
      ms,
      'every plan settled',
      500,
    ).catch(() => null);
    return this.audit();
  }

  async audit(): Promise<FailoverAudit> {
    const s = this.s;
    const plans = await s.xrange(s.keys.planStream(), '-', '+');
    const results = await s.xrange(s.keys.resultStream(), '-', '+');
    const reconciled = await s.xrange(s.keys.reconciledStream(), '-', '+').catch(() => []);
    const orders = await this.orders();
    const byId = new Map<string, number>();
    for (const o of orders) byId.set(o.clientOrderId, (byId.get(o.clientOrderId) ?? 0) + 1);
    const resultsBy = new Map<string, number>();
    for (const r of results)
      resultsBy.set(r.fields.plan_id ?? '', (resultsBy.get(r.fields.plan_id ?? '') ?? 0) + 1);
    const settled = new Set([...results, ...reconciled].map((r) => r.fields.plan_id));
    const execute = plans.filter((p) => p.fields.decision === 'EXECUTE');
    const planIds = new Set(plans.map((p) => p.fields.plan_id));
    const audited: AuditEntry[] = (await s.xrange(s.keys.failoverAudit(), '-', '+').catch(() => [])).map(
      (e) => ({
        kind: e.fields.kind ?? '',
        plan: e.fields.plan_id ?? '',
        action: e.fields.action ?? '',
        orderTime: Number(e.fields.order_time),
        writtenAt: Number(e.fields.timestamp),
      }),
    );
    const auditedGap = new Set(audited.map((a) => `${a.kind}:${a.plan}`));
    const silent: string[] = [];
    const unpermitted: string[] = [];
    const lost: LostWrite[] = [];
    for (const o of orders) {
      const id = planOfClientId(o.clientOrderId);
      if (!(await s.exists(s.keys.orderIntent(id, o.symbol)))) {
        lost.push({ kind: 'intent', plan: id, atMs: o.time });
        if (!auditedGap.has(`intent:${id}`)) silent.push(`intent:${id}`);
      }
      if ((await s.get(s.keys.permitReceipt(id, o.symbol))) !== null) continue;
      unpermitted.push(id);
      lost.push({ kind: 'consume_receipt', plan: id, atMs: o.time });
      if (!auditedGap.has(`consume_receipt:${id}`)) silent.push(`consume_receipt:${id}`);
    }
    // A lost result the reconciliation replaced is dated by its audit entry.
    for (const a of audited)
      if (a.kind === 'result') lost.push({ kind: 'result', plan: a.plan, atMs: a.orderTime });
    const unaccounted = execute.filter((p) => !settled.has(p.fields.plan_id));
    for (const p of unaccounted)
      lost.push({ kind: 'result', plan: p.fields.plan_id ?? '', atMs: Number(p.id.split('-')[0]) });
    const ofLostPlans = orders.filter((o) => !planIds.has(planOfClientId(o.clientOrderId)));
    for (const o of ofLostPlans) {
      const id = planOfClientId(o.clientOrderId);
      lost.push({ kind: 'plan_entry', plan: id, atMs: o.time });
      if (!auditedGap.has(`plan_entry:${id}`)) silent.push(`plan_entry:${id}`);
    }
    const ordersWithoutResult = orders
      .map((o) => planOfClientId(o.clientOrderId))
      .filter((id) => !settled.has(id));
    return {
      proposals: this.proposals,
      plans: plans.length,
      executePlans: execute.length,
      orders: orders.length,
      duplicateOrders: [...byId.values()].reduce((a, n) => a + (n - 1), 0),
      unpermitted,
      unaccounted: unaccounted.map((p) => p.fields.plan_id ?? ''),
      doubleResults: [...resultsBy].filter(([, n]) => n > 1).map(([id]) => id),
      ordersOfLostPlans: ofLostPlans.length,
      lost,
      ordersWithoutResult,
      silent,
      audited,
    };
  }

  /**
   * Waits until the failover reconciliation has accounted for every gap: every order's plan has a
   * result or a reconciled entry, and every lost plan entry, receipt and intent has an audit
   * entry (or `ms` passed), then audits. An EXECUTE plan entry whose result was lost and that sent
   * no order stays in `unaccounted` (nothing on the exchange to account for it by).
   */
  async reconciledAudit(ms = 120_000): Promise<FailoverAudit> {
    await until(
      async () => {
        const a = await this.audit().catch(() => null);
        return a !== null && a.silent.length === 0 && a.ordersWithoutResult.length === 0;
      },
      ms,
      'every lost write accounted for',
      1000,
    ).catch(() => null);
    return this.audit();
  }

  /**
   * Load, the fault (which resolves with when the old master stopped taking writes), recovery,
   * audit. Replication is asynchronous: writes the old master acknowledged shortly before the
   * switch may be lost; `late` lists lost writes dated after it (an order's booking may follow
   * its intent write by SEND_MARGIN_MS). Prints the lost writes and the time from the fault to
   * the first order booked after the switch.
   */
  async underFault(
    label: string,
    fault: () => Promise<number>,
  ): Promise<{ audit: FailoverAudit; late: LostWrite[] }> {
    this.feed(50);
    const start = (await this.orders()).length;
    await until(async () => (await this.orders()).length >= start + 30, 90_000, 'orders flowing', 200);
    const before = (await this.orders()).length;
    const t0 = Date.now();
    const lastWriteMs = await fault();
    const switchedMs = Date.now();
    await until(
      async () => (await this.orders()).length >= before + 20,
      90_000,
      'orders after the fault',
      200,
    );
    const firstAfter = (await this.orders()).find((o) => o.time > switchedMs)?.time ?? Date.now();
    await this.stopFeeding();
    await this.drainAndAudit();
    const auditedBefore = (await this.audit()).audited.length;
    const audit = await this.reconciledAudit();
    const accountedAt = Date.now();
    const late = audit.lost.filter((l) => l.kind !== 'plan_entry' && l.atMs > lastWriteMs + SEND_MARGIN_MS);
    const { lost, unpermitted: _u, unaccounted: _a, audited, ...counts } = audit;
    const dated = lost.map((l) => ({ ...l, afterSwitchMs: l.atMs - lastWriteMs }));
    // The last gap of this fault accounted for: the newest audit entry written after the fault.
    const mine = audited.filter((a) => a.writtenAt >= t0);
    const lastAuditMs = mine.length > 0 ? Math.max(...mine.map((a) => a.writtenAt)) - t0 : null;
    process.stdout.write(
      `[failover] ${label}: the fault took ${switchedMs - t0} ms (to the old master's last write), ` +
        `first order ${firstAfter - switchedMs} ms after it; ${JSON.stringify(counts)}; ` +
        `audit entries ${audited.length} (${audited.length - auditedBefore} while the rig waited), ` +
        `last written ${lastAuditMs} ms after the fault, all accounted for ${accountedAt - t0} ms after it ` +
        `(${JSON.stringify(countBy(mine.map((a) => `${a.kind}/${a.action}`)))}); ` +
        `lost writes: ${JSON.stringify(dated)}\n`,
    );
    return { audit, late };
  }

  async stop(): Promise<void> {
    this.feeding = false;
    await this.feeder?.catch(() => {});
    await this.store?.close();
    for (const p of [...this.procs].reverse()) await stopProc(p);
  }
}
