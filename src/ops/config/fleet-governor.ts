/**
 * The fleet governor's variables that ours must honour or refuse (README "Configuration"):
 * auto-disarm's switches, the file its disarm edits, and the stream names it lets an operator
 * change. A value ours cannot honour stops the start, naming the variable: a governor that
 * disarms when the fleet's would not (or the reverse) must not start quietly.
 */
import { keySpace } from '../../store/keys.js';
import { EnvReader, fleetBoolField, numberField } from './env.js';

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
}

/** The fleet's default: its governor's deployment file names the same path. */
export const FLEET_APPLY_CONFIG_PATH = '/etc/quantum/apply-layer.env';

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
  // The fleet's disarm sets APPLY_MODE=dry_run in this file and restarts quantum-apply-layer;
  // ours flips quantum:apply:arm, which the fleet's apply layer never reads.
  if (enabled && r.isSet('APPLY_CONFIG_PATH')) {
    r.problem(
      'APPLY_CONFIG_PATH',
      "unset, or GOV_ENABLE_AUTO_DISARM=false: the fleet's governor edits this file to disarm the apply layer; ours does not",
    );
  }
  return { enabled, onBurst, errorCount };
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
