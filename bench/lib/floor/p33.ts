/**
 * The floor's position brain (see common.ts): every P33_POLL_SEC one account-wide positionRisk
 * read and an HSET of each symbol's snapshot; per EXECUTE plan, HGETALL of the snapshot and of
 * the ledger, the contract's checks, SET of the permit; one XACK per batch; the ledger follows
 * executed results (XREAD every 200 ms, HGET + HSET per result). Cursor and snapshots' ages are
 * kept in memory only; EXPIREs once a minute per key.
 */
import {
  connect,
  consumePlans,
  expirer,
  floorToStep,
  fieldsOf,
  FRACTION,
  K,
  Signed,
  symbols,
  type PositionRow,
} from './common.js';

const POLL_MS = Number(process.env.P33_POLL_SEC ?? 5) * 1000;
const STALE_S = Number(process.env.P33_STALE_THRESHOLD_SEC ?? 10);
const TOLERANCE = Number(process.env.P33_QTY_TOLERANCE_PCT ?? 1) / 100;
const COOLDOWN_S = Number(process.env.P33_COOLDOWN_SEC ?? 15);

export async function runP33(): Promise<void> {
  const cmd = connect();
  const reader = connect({ enableAutoPipelining: false });
  const follower = connect({ enableAutoPipelining: false });
  const ex = new Signed(false);
  const all = new Set(symbols());
  const steps = await ex.steps();
  await cmd.xgroup('CREATE', K.planStream(), 'p33', '$', 'MKSTREAM').catch(() => {});
  const expireOnceAMinute = expirer(cmd);

  const refresh = async () => {
    const rows = (await ex.request('GET', '/fapi/v3/positionRisk', {})) as PositionRow[];
    const bySymbol = new Map(rows.map((r) => [r.symbol, r]));
    const ts = String(Math.floor(Date.now() / 1000));
    for (const s of all) {
      const r = bySymbol.get(s);
      const amt = Number(r?.positionAmt ?? 0);
      void cmd.hset(
        K.positionSnapshot(s),
        'position_amt',
        String(amt),
        'side',
        amt > 0 ? 'LONG' : amt < 0 ? 'SHORT' : 'NONE',
        'entry_price',
        r?.entryPrice ?? '0',
        'mark_price',
        r?.markPrice ?? '0',
        'unrealized_pnl',
        r?.unRealizedProfit ?? '0',
        'leverage',
        r?.leverage ?? '',
        'ts_epoch',
        ts,
        'source',
        'floor',
      );
      expireOnceAMinute(K.positionSnapshot(s), 3600);
    }
  };
  await refresh();
  setInterval(() => void refresh().catch(() => {}), POLL_MS);

  let cursor = '$';
  const follow = async () => {
    for (;;) {
      const reply = (await follower.xread(
        'COUNT',
        5000,
        'BLOCK',
        200,
        'STREAMS',
        K.resultStream(),
        cursor,
      )) as [string, [string, string[]][]][] | null;
      for (const [id, flat] of reply?.[0]?.[1] ?? []) {
        cursor = id;
        const f = fieldsOf(flat);
        if (f.executed !== 'True') continue;
        const step = (
          JSON.parse(f.steps_results ?? '[]') as Array<{
            side?: string;
            executed_qty?: string;
            order_id?: string;
          }>
        )[0];
        const qty = Number(step?.executed_qty ?? 0);
        if (!(qty > 0)) continue;
        const symbol = f.symbol!;
        const known = await cmd.hget(K.positionLedger(symbol), 'last_known_amt');
        const before = Number(known ?? 0);
        // A reduceOnly fill never flips the side.
        const after = before > 0 ? Math.max(0, before - qty) : Math.min(0, before + qty);
        void cmd.hset(
          K.positionLedger(symbol),
          'last_known_amt',
          String(after),
          'last_order_id',
          step?.order_id ?? '',
          'last_result_plan_id',
          f.plan_id ?? '',
          'last_executed_qty',
          String(qty),
          'last_side',
          step?.side ?? '',
          'updated_at',
          String(Date.now() / 1000),
        );
        expireOnceAMinute(K.positionLedger(symbol), 86400);
      }
    }
  };
  void follow();

  const decide = async (f: Record<string, string>) => {
    const id = f.plan_id!;
    const symbol = f.symbol!;
    if (!all.has(symbol)) return;
    const [snap, ledger] = await Promise.all([
      cmd.hgetall(K.positionSnapshot(symbol)),
      cmd.hgetall(K.positionLedger(symbol)),
    ]);
    const now = Date.now() / 1000;
    const amt = Number(snap.position_amt ?? NaN);
    const deny = (reason: string) =>
      void cmd.set(
        K.p33Permit(id),
        JSON.stringify({ allow: false, symbol, reason, context: {}, created_at: now }),
        'EX',
        60,
      );
    if (!snap.ts_epoch) return deny('no_exchange_snapshot');
    if (now - Number(snap.ts_epoch) > STALE_S) return deny('stale_exchange_state');
    if (!(Math.abs(amt) >= 0.0001)) return deny('no_position');
    if (ledger.last_known_amt !== undefined) {
      const l = Number(ledger.last_known_amt);
      if (l !== 0 && Math.sign(l) !== Math.sign(amt)) return deny('reconcile_required_side_mismatch');
      if (Math.abs(Math.abs(l) - Math.abs(amt)) > Math.max(0.001, Math.abs(amt) * TOLERANCE))
        return deny('reconcile_required_qty_mismatch');
      if (now - Number(ledger.updated_at ?? 0) < COOLDOWN_S) return deny('cooldown_in_flight');
    } else {
      void cmd.hset(K.positionLedger(symbol), 'last_known_amt', String(amt), 'updated_at', '0');
    }
    const stepName = (JSON.parse(f.steps ?? '[]') as Array<{ step: string }>)[0]?.step ?? '';
    const step = steps.get(symbol) ?? 0.001;
    const safe = Number(floorToStep(Math.abs(amt) * (FRACTION[stepName] ?? 0), step));
    if (!(safe > 0)) return deny('no_position');
    void cmd.set(
      K.p33Permit(id),
      JSON.stringify({
        allow: true,
        symbol,
        safe_close_qty: safe,
        exchange_position_amt: amt,
        ledger_amt: Number(ledger.last_known_amt ?? amt),
        created_at: now,
        reason: 'sanity_checks_passed',
      }),
      'EX',
      60,
    );
  };

  await consumePlans(reader, cmd, 'p33', decide);
}
