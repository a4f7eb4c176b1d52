/**
 * Command-line options of a bench script: `--name value` options (repeatable ones collected),
 * `--name` flags. `--help` prints the script's usage and exits 0; an unknown option, or one
 * missing its value, prints the usage and exits 2, before anything runs (a long bench started
 * on a typo would run for minutes and then write the wrong section).
 */

export interface BenchArgs {
  /** The value of `--name`, or `dflt` when absent. */
  opt(name: string, dflt: string): string;
  /** Every value of a repeatable `--name`, in order. */
  all(name: string): string[];
  flag(name: string): boolean;
  /** The arguments as given (for the command line a report records). */
  readonly raw: readonly string[];
}

export interface ArgSpec {
  /** Options taking a value. */
  values: readonly string[];
  /** Options without one. */
  flags: readonly string[];
  /** Printed by --help and on a refusal. */
  usage: string;
}

export function parseBenchArgs(
  raw: readonly string[],
  spec: ArgSpec,
  exit: (code: number, text: string) => never = (code, text) => {
    (code === 0 ? process.stdout : process.stderr).write(text);
    process.exit(code);
  },
): BenchArgs {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (a === '--help' || a === '-h') exit(0, `${spec.usage.trim()}\n`);
    const name = a.startsWith('--') ? a.slice(2) : null;
    if (name !== null && spec.flags.includes(name)) {
      flags.add(name);
    } else if (name !== null && spec.values.includes(name)) {
      const v = raw[i + 1];
      if (v === undefined || v.startsWith('--')) exit(2, `--${name} needs a value\n\n${spec.usage.trim()}\n`);
      values.set(name, [...(values.get(name) ?? []), v!]);
      i++;
    } else {
      exit(2, `unknown argument: ${a}\n\n${spec.usage.trim()}\n`);
    }
  }
  return {
    opt: (name, dflt) => values.get(name)?.at(-1) ?? dflt,
    all: (name) => values.get(name) ?? [],
    flag: (name) => flags.has(name),
    raw,
  };
}
