/** INFO commandstats snapshots and differences (every client, commands run inside scripts included). */
import type { Redis } from 'ioredis';

export type CommandCounts = Map<string, number>;

export function parseCommandStats(info: string): CommandCounts {
  const out: CommandCounts = new Map();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

export async function commandStats(admin: Redis): Promise<CommandCounts> {
  return parseCommandStats((await admin.info('commandstats')) as string);
}

export function diffCounts(after: CommandCounts, before: CommandCounts): CommandCounts {
  const out: CommandCounts = new Map();
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0);
    if (d > 0) out.set(cmd, d);
  }
  return out;
}

export function total(counts: CommandCounts, exclude: readonly string[] = []): number {
  let sum = 0;
  for (const [cmd, n] of counts) if (!exclude.includes(cmd)) sum += n;
  return sum;
}

/** "xadd 2.0, evalsha 4.0, ..." per unit, largest first. */
export function perUnit(counts: CommandCounts, units: number, top = 12): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([cmd, n]) => `${cmd} ${(n / units).toFixed(2)}`)
    .join(', ');
}
