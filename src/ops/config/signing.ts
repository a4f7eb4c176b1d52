/**
 * Signed-permit settings (SECURITY.md): each authority signs with its current secret; the apply
 * layer verifies with the current and the previous one (rotation) and, when
 * APPLY_REQUIRE_SIGNED_PERMITS=true, refuses permits without a valid signature.
 */
import { z } from 'zod';
import { GOVERNOR_PERMIT_TTL_SEC, MIN_SECRET_CHARS } from '../../domain/permit-signing.js';
import { EnvReader, boolField, numberField, type Field } from './env.js';

export type SigningAuthorityName = 'governor' | 'p33';

export interface PermitSecrets {
  secret: string | null;
  previousSecret: string | null;
}

export interface SignedPermitsConfig {
  /** APPLY_REQUIRE_SIGNED_PERMITS (default false: the unsigned fleet keeps working). */
  required: boolean;
  /** APPLY_PERMIT_MAX_SKEW_SEC: tolerated clock difference when checking expires_at and created_at. */
  maxSkewSec: number;
  /**
   * Each authority's permit TTL: a signed permit expiring later than now + TTL + skew is refused.
   * The governor's is the contract's; P3.3's is P33_PERMIT_TTL, read as P3.3 reads it.
   */
  permitTtlSec: Readonly<Record<SigningAuthorityName, number>>;
  governor: PermitSecrets;
  p33: PermitSecrets;
}

const VAR: Record<SigningAuthorityName, string> = {
  governor: 'PERMIT_SECRET_GOVERNOR',
  p33: 'PERMIT_SECRET_P33',
};

/** Blank counts as unset; a short secret is refused (HMAC keys must resist offline guessing). */
export function permitSecretField(): Field<string | null> {
  return {
    expected: `at least ${MIN_SECRET_CHARS} characters without surrounding spaces (or unset)`,
    schema: z
      .string()
      .refine((s) => s === '' || (s.trim() === s && s.length >= MIN_SECRET_CHARS))
      .transform((s) => (s === '' ? null : s)),
  };
}

export const DEFAULT_P33_PERMIT_TTL_SEC = 60;

/** P33_PERMIT_TTL: how long P3.3's permits live (s); the apply layer bounds their expiry by it. */
export function readP33PermitTtl(r: EnvReader): number {
  return r.get('P33_PERMIT_TTL', numberField({ int: true, min: 1, max: 86_400 }), DEFAULT_P33_PERMIT_TTL_SEC);
}

/** The secret an authority signs with (null: it writes unsigned permits, as the fleet does). */
export function readSigningSecret(r: EnvReader, authority: SigningAuthorityName): string | null {
  return r.get(VAR[authority], permitSecretField(), null);
}

function readSecrets(r: EnvReader, authority: SigningAuthorityName): PermitSecrets {
  return {
    secret: readSigningSecret(r, authority),
    previousSecret: r.get(`${VAR[authority]}_PREVIOUS`, permitSecretField(), null),
  };
}

export function readSignedPermits(r: EnvReader, requiredAuthorities: readonly string[]): SignedPermitsConfig {
  const cfg: SignedPermitsConfig = {
    required: r.get('APPLY_REQUIRE_SIGNED_PERMITS', boolField(), false),
    maxSkewSec: r.get('APPLY_PERMIT_MAX_SKEW_SEC', numberField({ min: 0, max: 300 }), 5),
    permitTtlSec: { governor: GOVERNOR_PERMIT_TTL_SEC, p33: readP33PermitTtl(r) },
    governor: readSecrets(r, 'governor'),
    p33: readSecrets(r, 'p33'),
  };
  if (!cfg.required || !r.valid('APPLY_REQUIRE_SIGNED_PERMITS', 'APPLY_REQUIRED_AUTHORITIES')) return cfg;
  for (const a of requiredAuthorities) {
    if (a !== 'governor' && a !== 'p33') {
      r.problem(
        'APPLY_REQUIRED_AUTHORITIES',
        'only governor and p33 when APPLY_REQUIRE_SIGNED_PERMITS=true (no other authority signs)',
        JSON.stringify(requiredAuthorities.join(',')),
      );
      continue;
    }
    const s = cfg[a];
    const name = VAR[a];
    if (s.secret === null && s.previousSecret === null && r.valid(name, `${name}_PREVIOUS`)) {
      r.problem(name, 'a secret when APPLY_REQUIRE_SIGNED_PERMITS=true', '(unset)');
    }
  }
  return cfg;
}
