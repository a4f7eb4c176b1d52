/**
 * The fleet governor's variables that ours must honour or refuse (README "Configuration"):
 * auto-disarm's switches, the file its disarm edits, and the stream names it lets an operator
 * change. A value ours cannot honour stops the start, naming the variable: a governor that
 * disarms when the fleet's would not (or the reverse) must not start quietly.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { keySpace } from '../../store/keys.js';
import { EnvReader, boolField, fleetBoolField, numberField, type Field } from './env.js';

export interface AutoDisarmConfig {
  /** GOV_ENABLE_AUTO_DISARM: false, the governor never disarms. */
  enabled: boolean;
  /** GOV_DISARM_ON_BURST_BREACH: a burst_limit_exceeded block disarms. */
  onBurst: boolean;
  /**
   * GOV_DISARM_ON_ERROR_COUNT: evaluation errors that disarm, counted as the fleet counts them:
   * since start, or since the count last reached this, with no time window.
   */
  errorCount: number;
  /**
   * GOV_DISARM_FLEET_APPLY=true (ours; off by default): auto-disarm also disarms the fleet's
   * apply layer its way: APPLY_MODE=dry_run in APPLY_CONFIG_PATH, then the restart command.
   */
  fleetApply: FleetApplyDisarmConfig | null;
}

export interface FleetApplyDisarmConfig {
  /** APPLY_CONFIG_PATH. */
  envFile: string;
  /** GOV_DISARM_FLEET_RESTART_COMMAND, split on blanks. */
  restartCommand: readonly string[];
}

/** The fleet's default: its governor's deployment file names the same path. */
export const FLEET_APPLY_CONFIG_PATH = '/etc/quantum/apply-layer.env';
/** What the fleet's governor runs after editing the file. */
export const FLEET_RESTART_COMMAND = 'systemctl restart quantum-apply-layer';

function absolutePathField(): Field<string> {
  return {
    expected: 'an absolute file path',
    schema: z
      .string()
      .trim()
      .refine((s) => isAbsolute(s) && !s.endsWith('/')),
  };
}

/** A command line run without a shell: words split on blanks, nothing a shell would interpret. */
function commandField(): Field<readonly string[]> {
  return {
    expected:
      'a command and its arguments separated by blanks (run without a shell: no quotes, \\, $, `, ;, |, &, <, >)',
    schema: z
      .string()
      .trim()
      .refine((s) => s !== '' && !/["'\\$`;|&<>]/.test(s))
      .transform((s) => s.split(/\s+/)),
  };
}

export function readAutoDisarm(r: EnvReader): AutoDisarmConfig {
  const enabled = r.get('GOV_ENABLE_AUTO_DISARM', fleetBoolField(), true);
  const onBurst = r.get('GOV_DISARM_ON_BURST_BREACH', fleetBoolField(), true);
  const count = numberField({ int: true, min: 1 });
  const errorCount = r.get(
    'GOV_DISARM_ON_ERROR_COUNT',
    {
      ...count,
      // The fleet compares `errors >= count` once a minute: at 0 or below it disarms without errors.
      expected: `${count.expected} (at 0 or below the fleet's governor disarms within a minute, without any error)`,
    },
    5,
  );
  const fleetOn = r.get('GOV_DISARM_FLEET_APPLY', boolField(), false);
  const envFile = r.get('APPLY_CONFIG_PATH', absolutePathField(), FLEET_APPLY_CONFIG_PATH);
  const restartCommand = r.get(
    'GOV_DISARM_FLEET_RESTART_COMMAND',
    commandField(),
    FLEET_RESTART_COMMAND.split(' '),
  );
  // The fleet's disarm sets APPLY_MODE=dry_run in this file and restarts quantum-apply-layer;
  // ours does so only when asked. An env file that names it, without saying which, is the
  // fleet's: starting quietly would leave its apply layer trading after a disarm.
  if (enabled && r.isSet('APPLY_CONFIG_PATH') && !r.isSet('GOV_DISARM_FLEET_APPLY')) {
    r.problem(
      'APPLY_CONFIG_PATH',
      "GOV_DISARM_FLEET_APPLY beside it: true to edit this file on auto-disarm as the fleet's governor does (then restart the apply unit), false to leave it alone; or unset, or GOV_ENABLE_AUTO_DISARM=false",
    );
  }
  return { enabled, onBurst, errorCount, fleetApply: fleetOn ? { envFile, restartCommand } : null };
}

/**
 * STREAM_PLANS / STREAM_RESULTS / STREAM_EVENTS rename the fleet governor's streams. Ours takes
 * every name from the key builder, as the fleet's apply layer and P3.3 hard-code theirs, so only
 * the name ours uses is accepted.
 */
export function checkFleetStreams(r: EnvReader, keyPrefix: string): void {
  const k = keySpace({ prefix: keyPrefix });
  const streams: [string, string][] = [
    ['STREAM_PLANS', k.planStream()],
    ['STREAM_RESULTS', k.resultStream()],
    ['STREAM_EVENTS', k.governorEvents()],
  ];
  for (const [name, ours] of streams) {
    const raw = r.raw(name);
    if (raw !== undefined && raw.trim() !== ours)
      r.problem(name, `"${ours}" or unset (ours cannot rename the stream)`);
  }
}
