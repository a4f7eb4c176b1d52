/**
 * The loopback-only control surface of the paper exchange (state, orders, faults, positions,
 * marks). A mark set here triggers the algo orders it crosses; a position set here is pushed on
 * the user data stream as an ADJUSTMENT.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { faultSchema, type FaultController } from './faults.js';
import { triggerAlgoOrders } from './algo.js';
import type { PaperState } from './state.js';

interface ControlDeps {
  state: PaperState;
  faults: FaultController;
  now(): number;
  readBody(req: IncomingMessage): Promise<string>;
  send(res: ServerResponse, status: number, body: unknown): void;
}

const amounts = z.record(z.string(), z.number().finite());

function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1';
}

export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: ControlDeps,
): Promise<void> {
  const { state, faults, send } = deps;
  if (!isLoopback(req.socket.remoteAddress)) return send(res, 403, { error: 'loopback_only' });
  const method = req.method ?? 'GET';
  const raw = await deps.readBody(req);
  let body: unknown = null;
  try {
    body = raw ? JSON.parse(raw) : null;
  } catch {
    return send(res, 400, { error: 'invalid_json' });
  }
  const key = `${method} ${path}`;
  if (key === 'GET /paper/state') return send(res, 200, state.snapshot());
  // Every order booked, oldest first: what a person checks first (`curl .../paper/orders`).
  if (key === 'GET /paper/orders') return send(res, 200, state.orders);
  if (key === 'GET /paper/faults') return send(res, 200, faults.list());
  if (key === 'DELETE /paper/faults') {
    faults.clear();
    return send(res, 200, []);
  }
  if (key === 'POST /paper/faults') {
    const parsed = z.union([faultSchema, z.array(faultSchema)]).safeParse(body ?? []);
    if (!parsed.success) return send(res, 400, { error: 'invalid_fault', detail: parsed.error.issues });
    faults.set(parsed.data);
    return send(res, 200, faults.list());
  }
  if (key === 'POST /paper/positions' || key === 'POST /paper/marks') {
    const parsed = amounts.safeParse(body);
    if (!parsed.success) return send(res, 400, { error: 'invalid_amounts' });
    try {
      // A position set by hand reaches the stream as Binance's ADJUSTMENT; a mark triggers stops.
      for (const [s, v] of Object.entries(parsed.data)) {
        const now = deps.now();
        if (path.endsWith('positions')) {
          state.setPosition(s, v, now);
          state.emit({ type: 'position', symbol: s, reason: 'ADJUSTMENT', time: now });
        } else {
          state.setMark(s, v);
          triggerAlgoOrders(state, s, now);
        }
      }
    } catch (err) {
      return send(res, 400, { error: 'invalid_symbol_or_value', detail: String(err) });
    }
    return send(res, 200, {
      positions: Object.fromEntries(state.positions),
      marks: Object.fromEntries(state.marks),
    });
  }
  send(res, 404, { error: 'unknown_control_endpoint' });
}
