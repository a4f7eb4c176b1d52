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

export interface MonitorCount {
  /** Commands clients sent (a script call counts once). */
  client: number;
  /** Commands run inside Lua scripts (MONITOR tags them `[<db> lua]`). */
  script: number;
}

/**
 * Counts commands seen by MONITOR on a raw connection until `stop()`: those clients sent versus
 * those run inside scripts, which INFO commandstats lumps together. MONITOR costs the server, so
 * use it only on a short low-rate window; `read()` at both ends of a window and subtract.
 */
export async function monitor(port: number): Promise<{ read(): MonitorCount; stop(): void }> {
  const { connect } = await import('node:net');
  const counts: MonitorCount = { client: 0, script: 0 };
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  let rest = '';
  sock.on('data', (d: Buffer) => {
    const lines = (rest + d.toString('latin1')).split('\r\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.startsWith('+') || l === '+OK') continue;
      if (/^\+\d+\.\d+ \[\d+ lua\]/.test(l)) counts.script++;
      else counts.client++;
    }
  });
  sock.write('MONITOR\r\n');
  return {
    read: () => ({ ...counts }),
    stop: () => void sock.destroy(),
  };
}
