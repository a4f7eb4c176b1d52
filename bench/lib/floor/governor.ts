/**
 * The floor's governor role (see common.ts): XREADGROUP a batch of plans; per EXECUTE plan, EXISTS
 * of its permit (decided once), the symbol's execution list and day total, a position read (one
 * per symbol per second, as ours), the hourly / 5-minute / daily gates, then SET permit, LPUSH +
 * LTRIM of the list, INCRBYFLOAT of the total (EXPIREs once a minute per key); one XACK per batch.
 * Not atomic: two floor governors could both pass a limit (ours counts inside one script).
 */
import { connect, consumePlans, expirer, FRACTION, K, Signed, type PositionRow } from './common.js';

const HOUR = Number(process.env.GOV_MAX_EXEC_PER_HOUR ?? 3);
const BURST = Number(process.env.GOV_MAX_EXEC_PER_5MIN ?? 2);
const DAY_USD = Number(process.env.GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD ?? 5000);

export async function runGovernor(): Promise<void> {
  const cmd = connect();
  const reader = connect({ enableAutoPipelining: false });
  const ex = new Signed(false);
  await cmd.xgroup('CREATE', K.planStream(), 'governor', '$', 'MKSTREAM').catch(() => {});
  const reads = new Map<string, { at: number; p: Promise<PositionRow | null> }>();
  const position = (symbol: string) => {
    const now = Date.now();
    const c = reads.get(symbol);
    if (c && now - c.at < 1000) return c.p;
    const p = ex.position(symbol);
    reads.set(symbol, { at: now, p });
    p.catch(() => reads.delete(symbol));
    return p;
  };
  const expireOnceAMinute = expirer(cmd);

  const decide = async (f: Record<string, string>) => {
    const id = f.plan_id!;
    const symbol = f.symbol!;
    const day = new Date().toISOString().slice(0, 10);
    const [exists, list, total, pos] = await Promise.all([
      cmd.exists(K.governorPermit(id)),
      cmd.lrange(K.governorExec(symbol), 0, -1),
      cmd.get(K.governorDaily(symbol, day)),
      position(symbol),
    ]);
    if (exists) return;
    const now = Date.now() / 1000;
    const inHour = list.filter((t) => Number(t) > now - 3600).length;
    const in5 = list.filter((t) => Number(t) > now - 300).length;
    const steps = JSON.parse(f.steps ?? '[]') as Array<{ step: string }>;
    const qty = Math.abs(Number(pos?.positionAmt ?? 0)) * (FRACTION[steps[0]?.step ?? ''] ?? 0);
    const notional = qty * Number(pos?.markPrice ?? 0);
    const reason =
      inHour >= HOUR
        ? 'hourly_limit_exceeded'
        : in5 >= BURST
          ? 'burst_limit_exceeded'
          : Number(total ?? 0) + notional > DAY_USD
            ? 'daily_limit_exceeded'
            : null;
    if (reason) {
      void cmd.set(K.governorBlock(id), JSON.stringify({ reason, timestamp: now, symbol }), 'EX', 3600);
      return;
    }
    void cmd.set(
      K.governorPermit(id),
      JSON.stringify({
        granted: true,
        symbol,
        decision: 'EXECUTE',
        computed_qty: qty,
        computed_notional: notional,
        created_at: now,
        consumed: false,
      }),
      'EX',
      60,
    );
    void cmd.lpush(K.governorExec(symbol), String(now));
    void cmd.ltrim(K.governorExec(symbol), 0, 99);
    void cmd.incrbyfloat(K.governorDaily(symbol, day), notional);
    expireOnceAMinute(K.governorExec(symbol), 86400);
    expireOnceAMinute(K.governorDaily(symbol, day), 86400);
  };

  await consumePlans(reader, cmd, 'governor', decide);
}
