/**
 * The floor's apply role (see common.ts): proposal event → HGETALL (+ arm state) → plan id, SET NX
 * dedupe, stream_published, XADD plan → permits consumed by one script (MGET, DEL) on their
 * keyspace events, while the client order id is looked up on the exchange → the contract's
 * checks → a position read after the consume, the order sized to min(safe_close_qty, the plan's
 * share of it) and sent as a signed reduceOnly MARKET order → XADD result. No intent record,
 * no result marker, no lease, no log line.
 */
import { createHash } from 'node:crypto';
import { connect, floorToStep, FRACTION, K, Signed, xaddCapped } from './common.js';

const WAIT_MS = 1200;
const CONSUME = `local v = redis.call('MGET', KEYS[1], KEYS[2])
if v[1] and v[2] then redis.call('DEL', KEYS[1], KEYS[2]) return v end
return false`;

interface Waiter {
  symbol: string;
  trying: boolean;
  again: boolean;
  done: (bodies: [string, string] | null) => void;
}

export async function runApply(freshOrders: boolean): Promise<void> {
  const cmd = connect();
  const sub = connect({ enableAutoPipelining: false });
  const ex = new Signed(freshOrders);
  const stepSizes = await ex.steps();
  cmd.defineCommand('consume', { numberOfKeys: 2, lua: CONSUME });
  const consume = (id: string) =>
    (cmd as unknown as { consume(a: string, b: string): Promise<[string, string] | null> }).consume(
      K.governorPermit(id),
      K.p33Permit(id),
    );
  await cmd.config('SET', 'notify-keyspace-events', 'K$hgx');
  const waiters = new Map<string, Waiter>();

  const attempt = (id: string, w: Waiter) => {
    if (w.trying) {
      w.again = true;
      return;
    }
    w.trying = true;
    w.again = false;
    consume(id).then(
      (bodies) => {
        w.trying = false;
        if (bodies) w.done(bodies);
        else if (w.again) attempt(id, w);
      },
      () => {
        w.trying = false;
      },
    );
  };

  const waitPermits = (id: string, symbol: string) =>
    new Promise<[string, string] | null>((resolve) => {
      const timer = setTimeout(() => {
        waiters.delete(id);
        // The last attempt after the deadline; a set consumed meanwhile wins.
        consume(id).then(resolve, () => resolve(null));
      }, WAIT_MS);
      const w: Waiter = {
        symbol,
        trying: false,
        again: false,
        done: (b) => {
          clearTimeout(timer);
          waiters.delete(id);
          resolve(b);
        },
      };
      waiters.set(id, w);
      attempt(id, w);
    });

  const result = (id: string, symbol: string, decision: string, error: string, steps: unknown[]) => {
    const executed = decision === 'EXECUTE' ? 'True' : 'False';
    return xaddCapped(cmd, K.resultStream(), {
      plan_id: id,
      symbol,
      decision,
      executed,
      would_execute: executed,
      steps_results: JSON.stringify(steps),
      error,
      timestamp: String(Date.now() / 1000),
    });
  };

  const onProposal = async (symbol: string) => {
    const [p] = await Promise.all([cmd.hgetall(K.proposal(symbol)), cmd.get(K.armState())]);
    const action = p.harvest_action;
    const kill = Number(p.kill_score);
    if (!action || !Number.isFinite(kill)) return;
    const id = createHash('sha256')
      .update(`${symbol}:${action}:${kill.toFixed(6)}:None:${p.computed_at_utc ?? ''}`)
      .digest('hex')
      .slice(0, 16);
    const step = action === 'FULL_CLOSE_PROPOSED' ? 'CLOSE_FULL' : `CLOSE_${action}`;
    if (!(step in FRACTION) || kill >= 0.8) return;
    const first = await cmd.set(K.dedupe(id), String(Math.floor(Date.now() / 1000)), 'EX', 21600, 'NX');
    if (first === null) return;
    const steps = JSON.stringify([
      { step, type: 'market_reduce_only', side: 'close', pct: FRACTION[step]! * 100 },
    ]);
    void cmd.set(K.streamPublished(id), '1', 'EX', 300);
    await xaddCapped(cmd, K.planStream(), {
      plan_id: id,
      symbol,
      action,
      kill_score: p.kill_score ?? '',
      k_regime_flip: p.k_regime_flip ?? '',
      k_sigma_spike: p.k_sigma_spike ?? '',
      k_ts_drop: p.k_ts_drop ?? '',
      k_age_penalty: p.k_age_penalty ?? '',
      new_sl_proposed: '',
      R_net: p.R_net ?? '',
      decision: 'EXECUTE',
      reason_codes: p.reason_codes ?? '',
      steps,
      close_qty: '',
      price: '',
      timestamp: String(Date.now() / 1000),
    });
    const clientId = `qa-${id}`;
    // The contract: before the first send, the client order id is looked up on the exchange.
    const lookup = ex.request('GET', '/fapi/v1/order', { symbol, origClientOrderId: clientId }).then(
      () => 'found',
      (err: Error) => (err.message.includes('-2013') ? 'absent' : 'failed'),
    );
    const bodies = await waitPermits(id, symbol);
    if (!bodies) return void result(id, symbol, 'BLOCKED', 'permit_timeout_or_missing:missing_both', []);
    const sent = await lookup;
    if (sent !== 'absent') return void result(id, symbol, 'SKIP', `order_${sent}`, []);
    // The contract: the order is sized against the position read after the consume.
    const pos = await ex.position(symbol).catch(() => null);
    const gov = JSON.parse(bodies[0]) as { granted?: unknown; symbol?: unknown };
    const p33 = JSON.parse(bodies[1]) as { allow?: unknown; symbol?: unknown; safe_close_qty?: unknown };
    const safe = Number(p33.safe_close_qty);
    const amt = Number(pos?.positionAmt ?? 0);
    if (gov.granted !== true || p33.allow !== true || gov.symbol !== symbol || p33.symbol !== symbol)
      return void result(id, symbol, 'BLOCKED', 'p33_permit_denied', []);
    if (!(safe > 0) || safe > Math.abs(amt))
      return void result(id, symbol, 'BLOCKED', 'invalid_safe_close_qty', []);
    const quantity = floorToStep(
      Math.min(safe, FRACTION[step]! * Math.abs(amt)),
      stepSizes.get(symbol) ?? 0.001,
    );
    try {
      const o = (await ex.request('POST', '/fapi/v1/order', {
        symbol,
        side: amt > 0 ? 'SELL' : 'BUY',
        type: 'MARKET',
        quantity,
        reduceOnly: 'true',
        newClientOrderId: clientId,
      })) as { orderId: number; executedQty: string };
      void result(id, symbol, 'EXECUTE', '', [
        {
          step,
          status: 'success',
          details: 'filled',
          order_id: String(o.orderId),
          side: amt > 0 ? 'SELL' : 'BUY',
          quantity,
          executed_qty: o.executedQty,
          reduce_only: true,
        },
      ]);
    } catch (err) {
      void result(id, symbol, 'ERROR', `order_failed:${(err as Error).message.slice(0, 40)}`, []);
    }
  };

  // Keyspace channels of the proposal and permit keys: the patterns without their '*'.
  const proposalPrefix = `__keyspace@0__:${K.proposalPattern().slice(0, -1)}`;
  const permitPrefix = `__keyspace@0__:${K.permitPattern().slice(0, -1)}`;
  sub.on('pmessage', (_pattern: string, channel: string, event: string) => {
    if (channel.startsWith(proposalPrefix)) {
      if (event === 'hset') void onProposal(channel.slice(proposalPrefix.length)).catch(() => {});
      return;
    }
    if (event !== 'set') return;
    const rest = channel.slice(permitPrefix.length);
    const id = rest.startsWith('p33:') ? rest.slice(4) : rest;
    const w = waiters.get(id);
    if (w) attempt(id, w);
  });
  await sub.psubscribe(`${proposalPrefix}*`, `${permitPrefix}*`);
}
