/**
 * The order intent record of a plan (`keys.orderIntent`): written with state=sending before an
 * order leaves (through the replica fence when there is one), updated with the answer, read by
 * recovery; each write also goes on the order events stream.
 *
 * A market close's intent is sent right behind its consume (startIntent), written only if that
 * consume took the permits, while the live position is still being read: its round trip is off
 * the order's path. It names the order; its side and quantity follow the request out. The order
 * path takes it over (takeOver); a plan that ends without sending marks it cancelled
 * (cancelIntent).
 */
import type { Logger } from 'pino';
import type { Plan, Step } from '../../domain/plan.js';
import type { CreateIntentOutcome } from '../../store/lease-port.js';
import type { ConsumeTicket } from '../../store/permit-chain.js';
import type { ApplyDeps, ApplyOptions } from './options.js';
import { publishOrderEvent } from './order-events.js';
import type { StepRequest } from './outcome.js';

/** What the intent says of its order. */
export type IntentState = 'sending' | 'filled' | 'accepted' | 'rejected' | 'unknown' | 'placed' | 'cancelled';

export interface IntentWriter {
  /**
   * The first write (state=sending): through the replica fence when there is one; with
   * `after`, only if that consume took the permits (sent right behind it, before its answer).
   */
  create(
    planId: string,
    symbol: string,
    fields: Record<string, string>,
    after?: ConsumeTicket,
  ): Promise<CreateIntentOutcome>;
  write(planId: string, symbol: string, fields: Record<string, string>): Promise<void>;
  read(planId: string, symbol: string): Promise<Record<string, string>>;
  /** After create(): true once the intent is on the replicas asked for (always, when none are). */
  replicated(planId: string, symbol: string): Promise<boolean>;
  /**
   * Whether this replica still holds the symbol (always, without replicas): on its own clock,
   * and with `ask`, also by reading the lease from the store.
   */
  holds(symbol: string, ask: boolean): Promise<boolean>;
}

export function storeIntents(
  deps: Pick<ApplyDeps, 'store' | 'ownership' | 'logger' | 'clock'>,
  ttlSec: number,
  wait: ApplyOptions['intentWait'] = null,
): IntentWriter {
  const { store, ownership, logger, clock } = deps;
  const k = store.keys;
  const published = (planId: string, symbol: string, fields: Record<string, string>) =>
    publishOrderEvent(store, logger, planId, symbol, fields, clock.now());
  // The command is sent before this returns, so one that follows a consume reaches Redis after it.
  const create = (
    planId: string,
    symbol: string,
    fields: Record<string, string>,
    after?: ConsumeTicket,
  ): Promise<CreateIntentOutcome> => {
    if (ownership && !ownership.owns(symbol)) return Promise.resolve('lease_lost');
    if (!ownership && !after) {
      return store.hset(k.orderIntent(planId, symbol), fields, ttlSec).then(() => 'written' as const);
    }
    // Fenced in the store: written only while our token still holds the symbol's lease (and
    // after the consume named, only if it took the permits).
    const keys = {
      intent: k.orderIntent(planId, symbol),
      lease: k.symbolLease(symbol),
      receipt: after?.receiptKey ?? k.permitReceipt(planId, symbol),
    };
    return store.leases.createIntent(keys, ownership?.token ?? null, fields, ttlSec, after?.token);
  };
  return {
    // A WAIT that fails is a missing acknowledgement: not replicated, not sent.
    replicated: async (planId, symbol) =>
      !wait ||
      (await store
        .waitForReplicas(store.keys.orderIntent(planId, symbol), wait.replicas, wait.timeoutMs)
        .catch(() => 0)) >= wait.replicas,
    create: async (planId, symbol, fields, after) => {
      const created = await create(planId, symbol, fields, after);
      if (created === 'written') published(planId, symbol, fields);
      return created;
    },
    // The intent was created with its TTL; an update keeps it (one command, not HSET + EXPIRE).
    write: async (planId, symbol, fields) => {
      await store.hupdate(store.keys.orderIntent(planId, symbol), fields, ttlSec);
      published(planId, symbol, fields);
    },
    read: (planId, symbol) => store.hgetall(store.keys.orderIntent(planId, symbol)),
    holds: async (symbol, ask) =>
      !ownership ||
      (ownership.owns(symbol) &&
        (!ask || (await store.leases.holds(k.symbolLease(symbol), ownership.token)))),
  };
}

/**
 * The intent's fields for the order a step sends (state=sending); without a side, the order is
 * named only (an early intent: side, quantity and trigger price follow the request out).
 */
export function intentFields(
  plan: Plan,
  step: Step,
  req: Pick<StepRequest, 'kind' | 'clientId'> &
    Partial<Pick<StepRequest, 'side' | 'quantity' | 'triggerPrice'>>,
  at: number,
): Record<string, string> {
  return {
    plan_id: plan.planId,
    step: step.step,
    kind: req.kind,
    client_order_id: req.clientId,
    symbol: plan.symbol,
    ...(req.side === undefined
      ? {}
      : { side: req.side, quantity: req.quantity ?? '', trigger_price: req.triggerPrice ?? '' }),
    state: 'sending',
    at: String(at),
  };
}

/**
 * An intent written right behind the consume, before the position that sizes its order was
 * read: it names the order (client order id) but not yet its side and quantity, which follow
 * the request out (executeOrderStep). `claimed` once the order path took it over; an unclaimed
 * one is cancelled when the plan ends (cancelIntent).
 */
export interface EarlyIntent {
  /** When it was sent: how old the fence it passed is. */
  at: number;
  created: Promise<CreateIntentOutcome>;
  claimed: boolean;
}

/**
 * A fence passed longer ago than this is asked again before the order leaves: a position read
 * that slow means the exchange or this process stalled, and the lease may have moved meanwhile.
 */
const EARLY_FENCE_MAX_AGE_MS = 250;

/**
 * Sends a market close's intent right behind the consume `after` (call it as that consume has
 * been sent, so Redis runs it second): written only if the consume took the permits.
 */
export function startIntent(
  intents: IntentWriter,
  clock: ApplyDeps['clock'],
  plan: Plan,
  step: Step,
  clientId: string,
  after: ConsumeTicket,
): EarlyIntent {
  const at = clock.now();
  const fields = intentFields(plan, step, { kind: 'market', clientId }, at);
  const created = intents.create(plan.planId, plan.symbol, fields, after);
  // Awaited later (takeOver, cancelIntent); a failure before then is not unhandled.
  created.catch(() => undefined);
  return { at, created, claimed: false };
}

/**
 * Takes an early intent over for the order about to leave: its creation's outcome, and the
 * lease asked again when its fence is old. An intent that was not written (it reached Redis
 * before its consume, or failed with it) is created now, as for a plan without one.
 */
export async function takeOver(
  deps: Pick<ApplyDeps, 'clock'>,
  intents: IntentWriter,
  early: EarlyIntent,
  plan: Plan,
  fields: Record<string, string>,
): Promise<{ created: CreateIntentOutcome; early: boolean }> {
  early.claimed = true;
  // Failed: it went with a consume attempt whose connection failed, and the consume's retry took
  // the permits; written now, as for a plan without one.
  const created = await early.created.catch(() => 'not_consumed' as const);
  if (created === 'not_consumed') {
    return { created: await intents.create(plan.planId, plan.symbol, fields), early: false };
  }
  if (created !== 'written') return { created, early: false };
  const old = deps.clock.now() - early.at > EARLY_FENCE_MAX_AGE_MS;
  if (!(await intents.holds(plan.symbol, old))) {
    await intents.write(plan.planId, plan.symbol, {
      state: 'cancelled',
      reason: 'lease_lost',
      updated_at: String(deps.clock.now()),
    });
    return { created: 'lease_lost', early: false };
  }
  return { created, early: true };
}

/** A plan that ended without taking its early intent over: the intent says it was not sent. */
export async function cancelIntent(
  deps: Pick<ApplyDeps, 'clock'>,
  intents: IntentWriter,
  early: EarlyIntent,
  plan: Plan,
  reason: string,
  log: Logger,
): Promise<void> {
  if (early.claimed) return;
  early.claimed = true;
  try {
    if ((await early.created) !== 'written') return;
    await intents.write(plan.planId, plan.symbol, {
      state: 'cancelled',
      reason: reason || 'not_sent',
      updated_at: String(deps.clock.now()),
    });
  } catch (err) {
    // Nothing was sent; recovery, finding no order, calls it unknown rather than cancelled.
    log.warn({ err: (err as Error).message }, 'apply: early order intent not marked cancelled');
  }
}
