/**
 * Signed plan entries (SECURITY.md "Signed plan entries"): the apply layer signs every plan entry
 * with PLAN_SECRET_APPLY; the authorities verify with it and PLAN_SECRET_APPLY_PREVIOUS
 * (rotation) and, when GOV_/P33_REQUIRE_SIGNED_PLANS=true, refuse entries without a valid one.
 * Secrets are validated as the permit secrets are.
 */
import { EnvReader, boolField } from './env.js';
import { permitSecretField } from './signing.js';

export const PLAN_SECRET = 'PLAN_SECRET_APPLY';
export const PLAN_SECRET_PREVIOUS = 'PLAN_SECRET_APPLY_PREVIOUS';

export type RequireSignedPlansVariable = 'GOV_REQUIRE_SIGNED_PLANS' | 'P33_REQUIRE_SIGNED_PLANS';

export interface SignedPlansConfig {
  /** GOV_/P33_REQUIRE_SIGNED_PLANS (default false: the fleet's unsigned entries keep working). */
  required: boolean;
  /** PLAN_SECRET_APPLY: the key apply signs with now. */
  secret: string | null;
  /** PLAN_SECRET_APPLY_PREVIOUS: the key being rotated out. */
  previousSecret: string | null;
}

/**
 * A plan secret must not equal a permit secret read alongside it: the authorities hold the plan
 * secret, so sharing one would let the governor's host sign P3.3's permits (or the reverse).
 */
function refuseShared(r: EnvReader, name: string, value: string | null, permitVars: readonly string[]): void {
  if (value === null) return;
  for (const other of permitVars) {
    if (r.raw(other) === value && r.valid(name, other)) {
      r.problem(name, `a secret different from ${other} (each secret has its own holders)`);
      return;
    }
  }
}

/** The apply layer's signing secret (null: plan entries are published unsigned, as the fleet's). */
export function readPlanSigningSecret(r: EnvReader, permitVars: readonly string[]): string | null {
  const secret = r.get(PLAN_SECRET, permitSecretField(), null);
  refuseShared(r, PLAN_SECRET, secret, permitVars);
  return secret;
}

/** An authority's verification keys and whether it requires signed plan entries. */
export function readSignedPlans(
  r: EnvReader,
  requireVar: RequireSignedPlansVariable,
  permitVars: readonly string[],
): SignedPlansConfig {
  const cfg: SignedPlansConfig = {
    required: r.get(requireVar, boolField(), false),
    secret: r.get(PLAN_SECRET, permitSecretField(), null),
    previousSecret: r.get(PLAN_SECRET_PREVIOUS, permitSecretField(), null),
  };
  refuseShared(r, PLAN_SECRET, cfg.secret, permitVars);
  refuseShared(r, PLAN_SECRET_PREVIOUS, cfg.previousSecret, permitVars);
  if (
    cfg.required &&
    cfg.secret === null &&
    cfg.previousSecret === null &&
    r.valid(requireVar, PLAN_SECRET, PLAN_SECRET_PREVIOUS)
  ) {
    r.problem(PLAN_SECRET, `a secret when ${requireVar}=true`, '(unset)');
  }
  return cfg;
}
