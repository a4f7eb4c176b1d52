/**
 * The settings a replay runs under, parsed by the services' own loaders (loadApplyConfig,
 * loadGovernorConfig), so a value the services would refuse is refused here, naming the
 * variable. Only the variables the replayed gates read are taken from the environment: the
 * rest (Redis, credentials, mode) cannot change a replayed decision.
 */
import { KNOWN_VARIABLES } from '../ops/config/known.js';
import { loadApplyConfig, loadGovernorConfig } from '../ops/config/services.js';
import type { Env } from '../ops/config/env.js';
import type { ReplaySettings } from '../domain/replay/engine.js';

/** What `--set` may change: the variables apply's decision and the governor's gates read. */
export const REPLAY_VARIABLES: readonly string[] = [
  'APPLY_KILL_SWITCH',
  'APPLY_ALLOWLIST',
  'K_BLOCK_CRITICAL',
  'K_BLOCK_WARNING',
  'APPLY_MAX_PROPOSAL_AGE_SEC',
  'GOV_MAX_EXEC_PER_HOUR',
  'GOV_MAX_EXEC_PER_5MIN',
  'GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD',
  'GOV_MAX_REDUCE_QTY_PER_DAY',
  'GOV_KILL_SCORE_CRITICAL',
  'GOV_AUTO_APPROVE',
];

/** Read beside them: APPLY_MAX_PROPOSAL_AGE_SEC must stay below it, as the loader checks. */
const CHECKED_WITH = ['APPLY_DEDUPE_TTL_SEC'];

export type SetsParse = { ok: true; sets: Record<string, string> } | { ok: false; error: string };

/** `NAME=VALUE` assignments; an unknown name, or one no replayed gate reads, is an error naming it. */
export function parseSets(assignments: readonly string[]): SetsParse {
  const sets: Record<string, string> = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) return { ok: false, error: `--set ${JSON.stringify(a)}: expected NAME=VALUE` };
    const name = a.slice(0, eq).trim();
    if (!KNOWN_VARIABLES.has(name)) return { ok: false, error: `--set: unknown variable ${name}` };
    if (!REPLAY_VARIABLES.includes(name))
      return {
        ok: false,
        error: `--set: ${name} is not a setting replay varies (it varies ${REPLAY_VARIABLES.join(', ')})`,
      };
    sets[name] = a.slice(eq + 1);
  }
  return { ok: true, sets };
}

function replayEnv(env: Env, sets: Record<string, string>): Env {
  const picked: Record<string, string | undefined> = {};
  for (const name of [...REPLAY_VARIABLES, ...CHECKED_WITH]) picked[name] = env[name];
  return { ...picked, ...sets };
}

/** The settings from `env` with `sets` applied; throws the loaders' ConfigError on a bad value. */
export function replaySettings(env: Env, sets: Record<string, string> = {}): ReplaySettings {
  const e = replayEnv(env, sets);
  const apply = loadApplyConfig(e);
  const gov = loadGovernorConfig(e);
  return {
    killSwitch: apply.killSwitch,
    allowlist: apply.allowlist,
    kBlockCritical: apply.kBlockCritical,
    kBlockWarning: apply.kBlockWarning,
    maxProposalAgeSec: apply.maxProposalAgeSec,
    limits: {
      killScoreCritical: gov.killScoreCritical,
      maxExecPerHour: gov.maxExecPerHour,
      maxExecPer5Min: gov.maxExecPer5Min,
      maxReduceNotionalPerDayUsd: gov.maxReduceNotionalPerDayUsd,
      maxReduceQtyPerDay: gov.maxReduceQtyPerDay,
    },
    autoApprove: gov.autoApprove,
  };
}
