/**
 * Signed plan entries (opt-in, SECURITY.md "Signed plan entries"). The apply layer adds one field
 * to each plan-stream entry it publishes, `sig: "v1:<keyId>:<64 hex>"`, an HMAC-SHA256 under
 * PLAN_SECRET_APPLY over a canonical text of every other field of the entry, so no field an
 * authority reads (plan id, symbol, action, decision, kill score...) can be changed or added
 * without breaking it. The authorities verify with the current and the previous secret
 * (rotation). The fleet reads entries field by field and ignores a field it does not know.
 *
 * Canonical text: Python `json.dumps` (defaults, ensure_ascii) of
 * `["quantum-plan/v1", [name, value]...]` with every field except `sig`, sorted by name in code
 * point order (Python's `sorted`). The prefix differs from the permits' `quantum-permit/v1`, so a
 * MAC over one can never stand for the other even under one secret.
 *
 * Keys are PermitKey (same validation, key id and secret hiding). Pure: node:crypto only computes.
 */
import { timingSafeEqual } from 'node:crypto';
import type { PermitKey } from './permit-signing.js';
import { pyJsonDumps } from './pyjson.js';

/** The entry field that carries the signature. (`signature` is taken: the fleet's audit field.) */
export const PLAN_SIG_FIELD = 'sig';
const DOMAIN = 'quantum-plan/v1';
const SIG = /^v1:([0-9a-f]{8}):([0-9a-f]{64})$/;

/**
 * Why a plan entry's signature was refused (a closed set; metrics label by it):
 * - `plan_unsigned`: no `sig` field;
 * - `plan_bad_signature`: `sig` is malformed, or names a key id this host does not hold (a wrong
 *   or retired secret);
 * - `plan_tampered`: signed by a key this host holds, but the MAC does not match the entry: a
 *   field was changed, added or removed after signing, or the `sig` was copied from another
 *   entry. The MAC cannot say which.
 */
export const PLAN_SIGNATURE_REASONS = ['plan_unsigned', 'plan_bad_signature', 'plan_tampered'] as const;
export type PlanSignatureReason = (typeof PLAN_SIGNATURE_REASONS)[number];

export type PlanSignatureCheck =
  { ok: true; keyId: string } | { ok: false; reason: PlanSignatureReason; detail: Record<string, string> };

/** UTF-8 byte order is code point order, which is how Python sorts str. */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function canonicalPlanText(fields: Readonly<Record<string, string>>): string {
  const names = Object.keys(fields)
    .filter((n) => n !== PLAN_SIG_FIELD)
    .sort(byCodePoint);
  return pyJsonDumps([DOMAIN, ...names.map((n) => [n, fields[n]])]);
}

/** The entry with `sig` added last (an existing `sig` is replaced); every other field as given. */
export function signPlanFields(
  fields: Readonly<Record<string, string>>,
  key: PermitKey,
): Record<string, string> {
  const rest: Record<string, string> = {};
  for (const n of Object.keys(fields)) if (n !== PLAN_SIG_FIELD) rest[n] = fields[n]!;
  return { ...rest, [PLAN_SIG_FIELD]: `v1:${key.keyId}:${key.mac(canonicalPlanText(rest)).toString('hex')}` };
}

/** What the apply layer's options carry: the entry it is about to publish, signed. */
export type PlanEntrySigner = (fields: Readonly<Record<string, string>>) => Record<string, string>;

export function planEntrySigner(key: PermitKey): PlanEntrySigner {
  return (fields) => signPlanFields(fields, key);
}

/** Checks one entry as read from the stream against the keys this host holds (current, previous). */
export function verifyPlanSignature(
  fields: Readonly<Record<string, string>>,
  keys: readonly PermitKey[],
): PlanSignatureCheck {
  if (!Object.hasOwn(fields, PLAN_SIG_FIELD)) return { ok: false, reason: 'plan_unsigned', detail: {} };
  const m = SIG.exec(fields[PLAN_SIG_FIELD] ?? '');
  if (!m) return { ok: false, reason: 'plan_bad_signature', detail: { why: 'malformed' } };
  const [, keyId = '', hex = ''] = m;
  const candidates = keys.filter((k) => k.keyId === keyId);
  if (candidates.length === 0)
    return { ok: false, reason: 'plan_bad_signature', detail: { why: 'unknown_key', key_id: keyId } };
  const given = Buffer.from(hex, 'hex');
  const text = canonicalPlanText(fields);
  if (!candidates.some((k) => timingSafeEqual(k.mac(text), given)))
    return { ok: false, reason: 'plan_tampered', detail: { key_id: keyId } };
  return { ok: true, keyId };
}
