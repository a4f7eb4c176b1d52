/** Per-process CPU time and memory from /proc (Linux), for benches that run services as processes. */
import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on every Linux we run on). */
const TICKS = 100;

/** User + system CPU seconds of one process so far, or null when it has gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / TICKS;
  } catch {
    return null;
  }
}

export interface Memory {
  /** Resident set size now, MB. */
  rssMb: number;
  /** Peak resident set size since the process started (VmHWM), MB. */
  peakMb: number;
}

export function memory(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** CPU seconds of several processes between two moments: `const d = cpuMeter(pids); ...; d()`. */
export function cpuMeter(pids: Record<string, number>): () => Record<string, number> {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) ?? 0]));
  return () =>
    Object.fromEntries(
      Object.entries(pids).map(([k, pid]) => [k, Math.max(0, (cpuSeconds(pid) ?? 0) - start[k]!)]),
    );
}
