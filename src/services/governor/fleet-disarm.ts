/**
 * Auto-disarm the fleet's way, for a fleet apply layer that never reads our arm state
 * (docs/mixed-fleet-disarm.md): as the fleet's governor does, back the apply env file up to
 * `<file>.bak.<unix s>`, set every `APPLY_MODE=` line to `APPLY_MODE=dry_run` (its `sed -i`
 * replacing `^APPLY_MODE=.*` with `APPLY_MODE=dry_run`), then restart the apply unit
 * (`systemctl restart quantum-apply-layer`). The file is replaced atomically (a temp file in the
 * same directory, then rename), every other byte kept. Nothing here throws: a failed step is
 * logged and reported, and never touches our own arm state.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { access, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface FleetApplyDisarm {
  /** APPLY_CONFIG_PATH: the fleet apply layer's env file. */
  envFile: string;
  /** GOV_DISARM_FLEET_RESTART_COMMAND, as argv: run without a shell. */
  restartCommand: readonly string[];
}

/** backup: the `.bak.<unix s>` copy; env_file: reading or replacing the file; restart: the command. */
export type FleetDisarmStep = 'backup' | 'env_file' | 'restart';

export interface FleetDisarmResult {
  /** The file says dry_run and the restart command succeeded. */
  done: boolean;
  failed: FleetDisarmStep[];
  backup: string | null;
  /** The APPLY_MODE values replaced (empty: the file had no APPLY_MODE= line). */
  previousModes: string[];
}

interface FleetLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** A restart that hangs must not hold the plan that tripped the disarm for long. */
export const RESTART_TIMEOUT_MS = 30_000;

const MODE_PREFIX = 'APPLY_MODE=';

/**
 * The fleet's edit of the text, line by line: a line that starts `APPLY_MODE=` becomes
 * `APPLY_MODE=dry_run` (a trailing CR goes with it, as sed's `.*` takes it); every other line
 * (comments, indented or `export` lines, which sed's `^APPLY_MODE=` does not match) is kept.
 */
export function disarmEnvText(text: string): { text: string; previousModes: string[] } {
  const previousModes: string[] = [];
  const lines = text.split('\n').map((line) => {
    if (!line.startsWith(MODE_PREFIX)) return line;
    previousModes.push(line.slice(MODE_PREFIX.length).replace(/\r$/, ''));
    return `${MODE_PREFIX}dry_run`;
  });
  return { text: lines.join('\n'), previousModes };
}

const modeOf = (s: Stats) => s.mode & 0o7777;

/** Writes `data` over `path` through a temp file in its directory and a rename, with its mode and owner. */
async function replaceAtomically(path: string, data: Buffer, like: Stats): Promise<void> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.disarm-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    const fh = await open(tmp, 'wx', modeOf(like));
    try {
      await fh.writeFile(data);
      await fh.chmod(modeOf(like)); // the umask may have narrowed it
      // Root may keep the owner; anyone else keeps their own, as sed -i does.
      await fh.chown(like.uid, like.gid).catch(() => undefined);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // The rename is durable once the directory is: best effort (some filesystems refuse).
  const dir = await open(dirname(path), 'r').catch(() => null);
  if (dir === null) return;
  await dir.sync().catch(() => undefined);
  await dir.close();
}

function runCommand(argv: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      // Only PATH: the governor's environment holds API and permit secrets.
      { timeout: timeoutMs, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const text = String(stderr).trim().slice(0, 500);
        reject(new Error(`${err.message}${text ? `: ${text}` : ''}`));
      },
    );
  });
}

export interface FleetDisarmOptions {
  nowMs: number;
  logger: FleetLogger;
  /** Called once per failed step (counted in quantum_govern_fleet_disarm_failures_total). */
  onFailure?: (step: FleetDisarmStep) => void;
  restartTimeoutMs?: number;
}

export async function disarmFleetApply(
  target: FleetApplyDisarm,
  o: FleetDisarmOptions,
): Promise<FleetDisarmResult> {
  const failed: FleetDisarmStep[] = [];
  const fail = (step: FleetDisarmStep, err: unknown, msg: string) => {
    failed.push(step);
    o.onFailure?.(step);
    o.logger.error({ step, envFile: target.envFile, err: (err as Error).message }, msg);
  };
  const path = target.envFile;
  let original: Buffer;
  let info: Stats;
  try {
    [original, info] = await Promise.all([readFile(path), stat(path)]);
  } catch (err) {
    // Without the file there is nothing to edit, and a restart would bring the fleet apply
    // layer back in whatever mode it has: the fleet's governor stops here too.
    fail(
      'env_file',
      err,
      'fleet apply disarm failed: cannot read the apply env file; the fleet apply layer is NOT disarmed',
    );
    return { done: false, failed, backup: null, previousModes: [] };
  }
  let backup: string | null = `${path}.bak.${Math.floor(o.nowMs / 1000)}`;
  try {
    await writeFile(backup, original, { mode: modeOf(info) });
  } catch (err) {
    // The fleet stops on a failed copy; disarming matters more than the copy, and the log
    // line below names the modes replaced.
    fail('backup', err, 'fleet apply disarm: backup copy failed; editing the env file anyway');
    backup = null;
  }
  // latin1 maps every byte to one character and back: bytes that are not UTF-8 survive.
  const edited = disarmEnvText(original.toString('latin1'));
  if (edited.previousModes.length === 0)
    o.logger.warn(
      { envFile: path },
      'fleet apply disarm: no APPLY_MODE= line in the env file (the fleet apply layer then starts in its default, dry_run); restarting it',
    );
  try {
    const data = Buffer.from(edited.text, 'latin1');
    if (!data.equals(original)) await replaceAtomically(path, data, info);
  } catch (err) {
    fail(
      'env_file',
      err,
      'fleet apply disarm failed: cannot replace the apply env file; the fleet apply layer is NOT disarmed',
    );
    return { done: false, failed, backup, previousModes: edited.previousModes };
  }
  try {
    await runCommand(target.restartCommand, o.restartTimeoutMs ?? RESTART_TIMEOUT_MS);
  } catch (err) {
    fail(
      'restart',
      err,
      `fleet apply disarm failed: "${target.restartCommand.join(' ')}" failed; the env file says dry_run, but the running fleet apply layer keeps its mode until restarted`,
    );
    return { done: false, failed, backup, previousModes: edited.previousModes };
  }
  // It worked: a warning (a disarm is news), not an error that error counters would count.
  o.logger.warn(
    { envFile: path, backup, previousModes: edited.previousModes, command: target.restartCommand.join(' ') },
    'fleet apply layer disarmed: APPLY_MODE=dry_run in its env file, and restarted',
  );
  return { done: true, failed, backup, previousModes: edited.previousModes };
}

/** At start: what would make a fleet disarm fail (null: nothing seen). Checks access only. */
export async function fleetDisarmProblem(target: FleetApplyDisarm): Promise<string | null> {
  try {
    await access(target.envFile, constants.R_OK | constants.W_OK);
  } catch (err) {
    return `${target.envFile} is not readable and writable: ${(err as Error).message}`;
  }
  try {
    // The temp file and the backup are created beside it.
    await access(dirname(target.envFile), constants.W_OK | constants.X_OK);
  } catch (err) {
    return `${dirname(target.envFile)} is not writable: ${(err as Error).message}`;
  }
  return null;
}
