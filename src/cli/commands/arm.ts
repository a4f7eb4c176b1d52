/**
 * `quantum-apply arm`: sets the live arm state the apply layer reads for every plan. Needs only
 * Redis (REDIS_URL or REDIS_HOST/REDIS_PORT/REDIS_DB, REDIS_KEY_PREFIX), so arming and disarming
 * work whatever else the environment holds.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { readMode, readRedis, type ApplyMode, type RedisConfig } from '../../ops/config/common.js';
import { EnvReader, redactUrl, type Env } from '../../ops/config/env.js';
import { ArmAuditError, ArmKeyWrongTypeError, setArmState } from '../../services/arm-state.js';
import { openStoreFor } from '../../store/index.js';
import type { Store } from '../../store/port.js';
import { EXIT_FAILURE, loadOrReport, type CliContext } from '../util.js';

export function loadRedisOnly(env: Env): { redis: RedisConfig; mode: ApplyMode } {
  const r = new EnvReader(env);
  const redis = readRedis(r);
  const mode = readMode(r);
  r.finish('redis');
  return { redis, mode };
}

/**
 * Opens the store, runs `fn`, closes; an unreachable Redis, an arm key of another type, or an
 * audit event that could not be written after the change, is reported (exit 1), not thrown.
 */
export async function withStore(
  ctx: CliContext,
  name: string,
  fn: (store: Store, mode: ApplyMode) => Promise<void>,
): Promise<void> {
  const cfg = loadOrReport(ctx, name, loadRedisOnly);
  if (cfg === null) {
    ctx.exitCode = 2;
    return;
  }
  const store = await openStoreOrReport(ctx, name, cfg.redis);
  if (store === null) return;
  try {
    await fn(store, cfg.mode);
  } catch (err) {
    if (!(err instanceof ArmKeyWrongTypeError) && !(err instanceof ArmAuditError)) throw err;
    ctx.err(`quantum-apply ${name}: ${err.message}\n`);
    // Exit 1 all the same: the change is in force, but the audit trail lacks it.
    if (err instanceof ArmAuditError) {
      ctx.err(
        `quantum-apply ${name}: record it by hand; the user needs XADD on ${err.stream} (quantum-apply acl operator)\n`,
      );
    }
    ctx.exitCode = EXIT_FAILURE;
  } finally {
    await store.close();
  }
}

/** The store, or null when Redis cannot be reached (reported, exit 1). */
export async function openStoreOrReport(
  ctx: CliContext,
  name: string,
  redis: RedisConfig,
): Promise<Store | null> {
  try {
    return await openStoreFor(redis);
  } catch (err) {
    ctx.err(
      `quantum-apply ${name}: cannot reach redis at ${redactUrl(redis.url)}: ${(err as Error).message}\n`,
    );
    ctx.exitCode = EXIT_FAILURE;
    return null;
  }
}

export function operator(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('arm')
    .description('arm the apply layer (live arm state in Redis): EXECUTE plans may send orders again')
    .option(
      '--reason <reason>',
      'why (recorded with the state and on the governor decisions stream)',
      'operator_arm',
    )
    .option('--by <name>', 'who (default: cli:<user>)')
    .action(async (opts: { reason: string; by?: string }) => {
      await withStore(ctx, 'arm', async (store) => {
        const s = await setArmState(store, {
          armed: true,
          reason: opts.reason,
          by: opts.by ?? operator(),
          atMs: Date.now(),
        });
        ctx.out(`armed (reason=${s.reason} by=${s.by})\n`);
      });
    });
}
