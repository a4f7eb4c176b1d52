/**
 * The environment part of a service command's `--help`: the variables its config loader reads
 * (src/ops/config/per-service.ts finds them by running the loader, so this never drifts).
 */
import { serviceNamed, SERVICE_CONFIGS, variablesReadBy } from '../ops/config/per-service.js';

const WIDTH = 100;

/** The help text listing what `command` reads, or null when it is not a service. */
export function variablesHelp(command: string): string | null {
  const service = serviceNamed(command);
  if (service === null) return null;
  const lines: string[] = [];
  let line = ' ';
  for (const v of variablesReadBy(SERVICE_CONFIGS[service])) {
    if (line.length + v.length + 1 > WIDTH) {
      lines.push(line);
      line = ' ';
    }
    line += ` ${v}`;
  }
  lines.push(line);
  return [
    '',
    'Environment variables read (README.md "Configuration"; with --env-file, a variable already in',
    'the environment wins over the file):',
    ...lines,
    '',
  ].join('\n');
}
