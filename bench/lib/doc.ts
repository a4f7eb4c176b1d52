/** Shared bench helpers: machine description and rewriting one section of BENCHMARKS.md. */
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export function machineLine(redisVersion?: string): string {
  let nproc = String(cpus().length);
  try {
    nproc = execSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // nproc missing: the os module's count is close enough
  }
  const model = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  const parts = [
    `nproc ${nproc} (${model}; shared and noisy, load average ${load} at the start)`,
    `node ${process.version}`,
  ];
  if (redisVersion) parts.push(`redis-server ${redisVersion} on loopback`);
  return parts.join(', ');
}

const HEADER =
  '# Benchmarks\n\nEvery figure here was produced by the command shown above it, on the development machine\n' +
  '(2 cores, shared and noisy, loopback Redis). Each section compares against a baseline measured\n' +
  'in the same run: read the ratios, not the absolute times.\n';

/** Replaces `## <title>` up to the next `## ` heading (appends the section when absent). */
export function writeSection(file: string, title: string, body: string): void {
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const heading = `## ${title}`;
  const section = `${heading}\n\n${body.trim()}\n\n`;
  const start = doc.indexOf(`${heading}\n`);
  if (start < 0) {
    writeFileSync(file, `${doc.trimEnd()}\n\n${section}`);
    return;
  }
  const next = doc.indexOf('\n## ', start + heading.length);
  const end = next < 0 ? doc.length : next + 1;
  writeFileSync(file, `${doc.slice(0, start)}${section}${doc.slice(end)}`.trimEnd() + '\n');
}
