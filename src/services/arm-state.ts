/**
 * The live arm state: one hash (`keys.armState()`) read by the apply layer for every plan and
 * flipped by operators (`quantum-apply arm|disarm`) or by the governor's auto-disarm.
 * An absent hash means armed (the fleet has no such key); anything unreadable fails closed.
 */
import type { Store } from '../store/port.js';
import { recordDecision } from './decision-log.js';
import { wrongTypeError } from './wrong-type.js';

export interface ArmState {
  armed: boolean;
  reason: string;
  by: string;
  /** Unix epoch milliseconds of the last change (0 when never set). */
  at: number;
}

export const ARM_STATE_INVALID = 'arm_state_invalid';
/** The arm key holds another type than a hash (a live server's WRONGTYPE): not armed. */
export const ARM_STATE_WRONG_TYPE = 'arm_state_wrong_type';

const DEFAULT_STATE: ArmState = { armed: true, reason: 'default', by: '', at: 0 };

function parseArmed(v: string | undefined): boolean | null {
  if (v === undefined) return null;
  const t = v.trim().toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return null;
}

/** Pure: a stored hash → arm state; garbage → not armed (`arm_state_invalid`). */
export function parseArmState(h: Record<string, string>): ArmState {
  if (Object.keys(h).length === 0) return { ...DEFAULT_STATE };
  const armed = parseArmed(h.armed);
  const at = h.at === undefined ? 0 : Number(h.at);
  if (armed === null || !Number.isFinite(at) || at < 0) {
    return { armed: false, reason: ARM_STATE_INVALID, by: '', at: 0 };
  }
  return { armed, reason: (h.reason ?? '').slice(0, 200), by: (h.by ?? '').slice(0, 100), at };
}

/**
 * What readers take in place of an arm key that holds another type: a disarmed hash
 * (parseArmState: not armed, `arm_state_wrong_type`), so every check that parses what it read
 * blocks without knowing about the key's type.
 */
function wrongTypeArmHash(): Record<string, string> {
  return { armed: 'false', reason: ARM_STATE_WRONG_TYPE, by: '', at: '0' };
}

/**
 * The arm hash as stored, or, when the server says the key holds another type, the disarmed
 * stand-in and the server's text. Any other failure (Redis down, a timeout) is thrown.
 */
export async function readArmHash(
  store: Store,
): Promise<{ hash: Record<string, string>; wrongType: string | null }> {
  try {
    return { hash: await store.hgetall(store.keys.armState()), wrongType: null };
  } catch (err) {
    const wrongType = wrongTypeError(err);
    if (wrongType === null) throw err;
    return { hash: wrongTypeArmHash(), wrongType };
  }
}

/** Reads the arm state; a read failure or a malformed hash fails closed (not armed). */
export async function readArmState(store: Store): Promise<ArmState> {
  try {
    return parseArmState((await readArmHash(store)).hash);
  } catch {
    return { armed: false, reason: ARM_STATE_INVALID, by: '', at: 0 };
  }
}

/** A write of the arm state refused because the key holds another type than a hash. */
export class ArmKeyWrongTypeError extends Error {
  constructor(
    readonly key: string,
    readonly error: string,
  ) {
    super(
      `${key} is not a hash (${error}): the apply layer reads it as disarmed; look at it (redis-cli TYPE ${key}), delete it, then set the arm state again`,
    );
    this.name = 'ArmKeyWrongTypeError';
  }
}

/**
 * The arm state was written and is in force, but its audit event (ARMED / DISARMED on the
 * governor decisions stream) was not: the change happened, only its record is missing.
 */
export class ArmAuditError extends Error {
  constructor(
    readonly state: ArmState,
    readonly stream: string,
    readonly error: string,
  ) {
    super(
      `${state.armed ? 'armed' : 'disarmed'} (the arm state is written and in force), but its audit event was not written to ${stream}: ${error}`,
    );
    this.name = 'ArmAuditError';
  }
}

export interface ArmChange {
  armed: boolean;
  reason: string;
  by: string;
  atMs: number;
}

/**
 * Writes the arm state, then records the change (ARMED / DISARMED) on the governor decisions
 * stream. An arm key of another type is left as it is: ArmKeyWrongTypeError, nothing recorded.
 * A record that fails after the write: ArmAuditError (the state stays as written).
 */
export async function setArmState(store: Store, change: ArmChange): Promise<ArmState> {
  const state: ArmState = {
    armed: change.armed,
    reason: change.reason,
    by: change.by,
    at: change.atMs,
  };
  const key = store.keys.armState();
  try {
    await store.hset(key, {
      armed: state.armed ? 'true' : 'false',
      reason: state.reason,
      by: state.by,
      at: String(state.at),
    });
  } catch (err) {
    // Not overwritten: what is at the key may be someone's mistake worth reading first.
    const wrongType = wrongTypeError(err);
    throw wrongType === null ? err : new ArmKeyWrongTypeError(key, wrongType);
  }
  try {
    await recordDecision(store, {
      planId: '',
      symbol: '',
      decision: state.armed ? 'ARMED' : 'DISARMED',
      reason: state.reason,
      atMs: state.at,
      by: state.by,
    });
  } catch (err) {
    // Not undone: an operator who disarmed wants the apply layer disarmed, record or not.
    const message = err instanceof Error ? err.message : String(err);
    throw new ArmAuditError(state, store.keys.governorDecisions(), message.split('\n')[0]!);
  }
  return state;
}
