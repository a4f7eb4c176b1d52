/**
 * Signed permits (opt-in, see SECURITY.md). An authority adds three fields to the contract's
 * body, which the unsigned fleet ignores: `plan_id`, `expires_at` (unix s) and
 * `sig: "v1:<keyId>:<64 hex>"`, an HMAC-SHA256 under the authority's own secret over a canonical
 * text of the fields that matter (below). The apply layer verifies with the current and the
 * previous secret of each authority (rotation).
 *
 * Canonical text: Python `json.dumps` (defaults; every number as a float, e.g. `5` → `5.0`) of
 * `["quantum-permit/v1", ["authority", a], ["plan_id", id], ["symbol", s], [field, value]...]`
 * with SIGNED_FIELDS in order; an absent field is `null`. A string "0.5" and a number 0.5 differ.
 *
 * Pure: no clock (callers pass nowSec), no I/O; node:crypto only computes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { pyJsonDumps, pyJsonParse, type PyJson } from './pyjson.js';
import { MAX_PERMIT_BODY_CHARS } from './permits.js';

export const SIGNED_FIELDS = {
  governor: ['granted', 'decision', 'computed_qty', 'computed_notional', 'created_at', 'expires_at'],
  p33: [
    'allow',
    'safe_close_qty',
    'exchange_position_amt',
    'ledger_amt',
    'reason',
    'created_at',
    'expires_at',
  ],
} as const;

export type SigningAuthority = keyof typeof SIGNED_FIELDS;

/**
 * Why a permit's signature was refused (a closed set; metrics label by it):
 * - `permit_unsigned`: no `sig` field (or the body is not a JSON object, so none can be read);
 * - `permit_bad_signature`: `sig` is malformed, or names a key id this host does not hold
 *   (wrong or retired secret, or a permit signed by another authority);
 * - `permit_tampered`: signed by a key this host holds, but the MAC does not match the body's
 *   signed fields: a quantity, the symbol, a time, the decision or the plan id changed after
 *   signing (the signer's own plan id is not recoverable, so such a change lands here);
 * - `permit_replayed`: a valid signature, but for another plan id than the plan being executed
 *   (a genuine permit copied under another plan's key);
 * - `permit_expired`: a valid signature whose `expires_at` (+ allowed clock skew) has passed, or
 *   is not a finite number;
 * - `permit_expiry_too_far`: a valid signature whose `expires_at` lies further ahead than its
 *   authority's permit TTL (+ skew) allows: a key holder minting long-lived permits, or a clock
 *   far ahead (also when the verifier was given no TTL for the authority);
 * - `permit_not_yet_valid`: a valid signature whose `created_at` lies ahead of our clock by more
 *   than the skew, or is not a finite number: a permit minted for later, or a clock far ahead.
 */
export const SIGNATURE_REASONS = [
  'permit_unsigned',
  'permit_bad_signature',
  'permit_tampered',
  'permit_replayed',
  'permit_expired',
  'permit_expiry_too_far',
  'permit_not_yet_valid',
] as const;
export type SignatureReason = (typeof SIGNATURE_REASONS)[number];

/** The governor's permit TTL (s), fixed by the wire contract. */
export const GOVERNOR_PERMIT_TTL_SEC = 60;

/** Shortest secret accepted (characters): HMAC keys below 256 bits invite offline guessing. */
export const MIN_SECRET_CHARS = 32;
const SIG = /^v1:([0-9a-f]{8}):([0-9a-f]{64})$/;
const KEY_ID_LABEL = 'quantum-permit-key-id/v1';
const DOMAIN = 'quantum-permit/v1';

/**
 * A signing key. The secret lives in a private field: it is not enumerable, not in JSON, not in
 * util.inspect output, so logging a key object cannot print it.
 */
export class PermitKey {
  readonly keyId: string;
  readonly #secret: Buffer;

  constructor(secret: string) {
    if (secret.length < MIN_SECRET_CHARS) throw new Error(`permit secret shorter than ${MIN_SECRET_CHARS}`);
    this.#secret = Buffer.from(secret, 'utf8');
    // Derived from the secret, so no separate id to configure; reveals no more than a signature does.
    this.keyId = this.mac(KEY_ID_LABEL).subarray(0, 4).toString('hex');
  }

  mac(text: string): Buffer {
    return createHmac('sha256', this.#secret).update(text, 'utf8').digest();
  }

  toJSON(): { keyId: string } {
    return { keyId: this.keyId };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PermitKey(${this.keyId})`;
  }
}

export function canonicalPermitText(
  authority: SigningAuthority,
  planId: PyJson,
  symbol: PyJson,
  body: Record<string, PyJson>,
): string {
  const parts: PyJson[] = [DOMAIN, ['authority', authority], ['plan_id', planId], ['symbol', symbol]];
  for (const f of SIGNED_FIELDS[authority]) {
    parts.push([f, Object.prototype.hasOwnProperty.call(body, f) ? (body[f] ?? null) : null]);
  }
  return pyJsonDumps(parts);
}

/**
 * The body with `plan_id`, `expires_at` and `sig` added; every other field is kept as given.
 * Numbers must be finite (JSON cannot carry others losslessly through JSON.stringify).
 */
export function signPermitBody<T extends Record<string, unknown>>(
  authority: SigningAuthority,
  planId: string,
  body: T,
  expiresAtSec: number,
  key: PermitKey,
): T & { plan_id: string; expires_at: number; sig: string } {
  const signed = { ...body, plan_id: planId, expires_at: expiresAtSec };
  // Round-trip through JSON so the signature covers exactly what a reader will parse.
  const parsed = JSON.parse(JSON.stringify(signed)) as Record<string, PyJson>;
  const text = canonicalPermitText(authority, planId, parsed.symbol ?? null, parsed);
  return { ...signed, sig: `v1:${key.keyId}:${key.mac(text).toString('hex')}` };
}

export type SignatureCheck =
  | { ok: true; keyId: string }
  | { ok: false; reason: SignatureReason; detail: Record<string, string | number> };

export interface VerifyExpectation {
  authority: SigningAuthority;
  planId: string;
  /** The verifier's clock, unix seconds. */
  nowSec: number;
  /** Tolerated clock difference between the authority's host and ours (s). */
  maxSkewSec: number;
  /** The authority's permit TTL (s): no genuine permit expires later than now + TTL + skew. */
  permitTtlSec: number;
}

/** Checks one consumed permit body against the keys this host holds for its authority. */
export function verifyPermitSignature(
  body: string,
  expect: VerifyExpectation,
  keys: readonly PermitKey[],
): SignatureCheck {
  const fail = (reason: SignatureReason, detail: Record<string, string | number> = {}): SignatureCheck => ({
    ok: false,
    reason,
    detail: { authority: expect.authority, ...detail },
  });
  const parsed = body.length <= MAX_PERMIT_BODY_CHARS ? pyJsonParse(body) : null;
  const o = parsed?.value;
  if (o === null || o === undefined || typeof o !== 'object' || Array.isArray(o))
    return fail('permit_unsigned');
  const sig = o.sig;
  if (sig === undefined || sig === null) return fail('permit_unsigned');
  const m = typeof sig === 'string' ? SIG.exec(sig) : null;
  if (!m) return fail('permit_bad_signature', { why: 'malformed' });
  const [, keyId = '', hex = ''] = m;
  const candidates = keys.filter((k) => k.keyId === keyId);
  if (candidates.length === 0) return fail('permit_bad_signature', { why: 'unknown_key', key_id: keyId });
  const given = Buffer.from(hex, 'hex');
  const text = canonicalPermitText(expect.authority, o.plan_id ?? null, o.symbol ?? null, o);
  const valid = candidates.some((k) => timingSafeEqual(k.mac(text), given));
  if (!valid) return fail('permit_tampered', { key_id: keyId });
  if (o.plan_id !== expect.planId) {
    const signedFor = typeof o.plan_id === 'string' ? o.plan_id.slice(0, 64) : 'not_a_string';
    return fail('permit_replayed', { key_id: keyId, signed_for: signedFor });
  }
  const exp = o.expires_at;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return fail('permit_expired', { why: 'no_expiry' });
  if (expect.nowSec > exp + expect.maxSkewSec) {
    return fail('permit_expired', { key_id: keyId, expired_sec_ago: Math.round(expect.nowSec - exp) });
  }
  const ttl = expect.permitTtlSec;
  // Unknown TTL: no expiry can be shown to be within it.
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) {
    return fail('permit_expiry_too_far', { key_id: keyId, why: 'no_ttl_bound' });
  }
  if (exp > expect.nowSec + ttl + expect.maxSkewSec) {
    return fail('permit_expiry_too_far', { key_id: keyId, expires_in_sec: Math.round(exp - expect.nowSec) });
  }
  const created = o.created_at;
  if (typeof created !== 'number' || !Number.isFinite(created)) {
    return fail('permit_not_yet_valid', { key_id: keyId, why: 'no_created_at' });
  }
  if (created > expect.nowSec + expect.maxSkewSec) {
    return fail('permit_not_yet_valid', {
      key_id: keyId,
      created_in_sec: Math.round(created - expect.nowSec),
    });
  }
  return { ok: true, keyId };
}

export interface PermitSetCheckInput {
  planId: string;
  nowSec: number;
  maxSkewSec: number;
  /** Permit TTL (s) by authority: bounds how far ahead a signed expires_at may lie. */
  permitTtlSec: Readonly<Record<SigningAuthority, number>>;
  /** Consumed bodies by authority name. */
  bodies: Readonly<Record<string, string | undefined>>;
  /** Verification keys (current, previous) by authority name. */
  keys: Readonly<Partial<Record<SigningAuthority, readonly PermitKey[]>>>;
}

/**
 * Every consumed permit must carry a valid signature; the first failure (in the order the
 * bodies are given) is the verdict. An authority without a signing scheme is refused
 * (`permit_unsigned`): requiring signatures must never silently exempt one.
 */
export function verifyPermitSet(
  input: PermitSetCheckInput,
):
  | { ok: true }
  | { ok: false; authority: string; reason: SignatureReason; detail: Record<string, string | number> } {
  for (const [authority, body] of Object.entries(input.bodies)) {
    if (!(authority in SIGNED_FIELDS)) {
      return { ok: false, authority, reason: 'permit_unsigned', detail: { authority, why: 'no_scheme' } };
    }
    const a = authority as SigningAuthority;
    const check = verifyPermitSignature(
      body ?? '',
      {
        authority: a,
        planId: input.planId,
        nowSec: input.nowSec,
        maxSkewSec: input.maxSkewSec,
        permitTtlSec: input.permitTtlSec?.[a],
      },
      input.keys[a] ?? [],
    );
    if (!check.ok) return { ok: false, authority, reason: check.reason, detail: check.detail };
  }
  return { ok: true };
}
