/**
 * `explain` and `status` as functions returning their output and exit code (the CLI modules only
 * print it), so tests run them in-process against any Store.
 *
 * Exit codes: 0 found / read, 1 plan id unknown, 2 bad configuration or arguments, 3 Redis
 * could not be read.
 */
import { ConfigError, type Env } from '../ops/config/env.js';
import type { Store } from '../store/port.js';
import { loadInspectConfig, openInspectStore, shownRedisUrl, type InspectConfig } from './config.js';
import { isCanaryPlanId } from '../domain/canary.js';
import { PLAN_ID_PATTERN } from '../domain/plan.js';
import { explainPlan } from './explain.js';
import { explainJson, renderExplainText } from './render.js';
import { statusJson, renderStatusText } from './status-render.js';
import { readStatus } from './status.js';
import type { ScanOptions } from './stream-scan.js';

export const EXIT_FOUND = 0;
export const EXIT_NOT_FOUND = 1;
export const EXIT_USAGE = 2;
/** An unreachable Redis is a runtime failure, as for every command (0 ok, 1 failure, 2 usage). */
export const EXIT_REDIS = 1;

export interface InspectOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export interface InspectDeps {
  env: Env;
  /** Default: the Redis store the environment names. Tests pass a memory or private store. */
  openStore?: (cfg: InspectConfig) => Promise<Store>;
  /** Close the store afterwards (default true; false when the caller owns it). */
  closeStore?: boolean;
  scan?: ScanOptions;
}

const fail = (code: number, text: string): InspectOutput => ({ code, stdout: '', stderr: `${text}\n` });

async function withStore(
  name: string,
  deps: InspectDeps,
  run: (store: Store, cfg: InspectConfig) => Promise<InspectOutput>,
): Promise<InspectOutput> {
  let cfg: InspectConfig;
  try {
    cfg = loadInspectConfig(deps.env);
  } catch (err) {
    if (err instanceof ConfigError) return fail(EXIT_USAGE, `quantum-apply ${name}: ${err.message}`);
    throw err;
  }
  let store: Store;
  try {
    store = await (deps.openStore ?? openInspectStore)(cfg);
  } catch (err) {
    return fail(
      EXIT_REDIS,
      `quantum-apply ${name}: cannot reach Redis at ${shownRedisUrl(cfg)}: ${message(err)}`,
    );
  }
  try {
    return await run(store, cfg);
  } catch (err) {
    return fail(
      EXIT_REDIS,
      `quantum-apply ${name}: reading Redis at ${shownRedisUrl(cfg)} failed: ${message(err)}`,
    );
  } finally {
    if (deps.closeStore !== false) await store.close().catch(() => {});
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const asJson = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export async function explainCommand(
  deps: InspectDeps,
  planIdArg: string,
  json: boolean,
): Promise<InspectOutput> {
  const planId = planIdArg.trim().toLowerCase();
  if (!PLAN_ID_PATTERN.test(planId) && !isCanaryPlanId(planId)) {
    return fail(
      EXIT_USAGE,
      `quantum-apply explain: invalid_plan_id: expected 16 hex digits (or canary-<16 hex>), got ${JSON.stringify(planIdArg.slice(0, 40))}`,
    );
  }
  return withStore('explain', deps, async (store, cfg) => {
    const x = await explainPlan(store, planId, {
      ...deps.scan,
      authorities: cfg.requiredAuthorities,
      fallbackSymbols: cfg.symbols,
      permitWaitMs: cfg.permitWaitMs,
      mode: cfg.mode,
    });
    const stdout = json ? asJson(explainJson(x)) : renderExplainText(x, shownRedisUrl(cfg));
    return { code: x.found ? EXIT_FOUND : EXIT_NOT_FOUND, stdout, stderr: '' };
  });
}

export async function statusCommand(deps: InspectDeps, json: boolean): Promise<InspectOutput> {
  return withStore('status', deps, async (store, cfg) => {
    const report = await readStatus(store, cfg, deps.scan);
    return {
      code: EXIT_FOUND,
      stdout: json ? asJson(statusJson(report)) : renderStatusText(report),
      stderr: '',
    };
  });
}
