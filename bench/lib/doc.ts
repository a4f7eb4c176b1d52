/** Shared bench helpers: machine description and reading and rewriting one marked block of a document. */
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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

const marker = (name: string, end: 'begin' | 'end'): string => `<!-- bench:${name}:${end} -->`;

/** Offsets of the begin marker's end and the end marker's start; throws unless each occurs once, in order. */
function locate(doc: string, name: string): [number, number] {
  const begin = marker(name, 'begin');
  const end = marker(name, 'end');
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < 0 || to < from || doc.indexOf(begin, from + 1) >= 0 || doc.indexOf(end, to + 1) >= 0) {
    throw new Error(`expected exactly one "${begin}" followed by one "${end}"`);
  }
  return [from + begin.length, to];
}

/** The text between a block's markers, trimmed (a bench that keeps its earlier rows reads them here). */
export function readMarkedBlock(doc: string, name: string): string {
  const [from, to] = locate(doc, name);
  return doc.slice(from, to).trim();
}

/**
 * The document with the text between `<!-- bench:<name>:begin -->` and `<!-- bench:<name>:end -->`
 * replaced by `body`; everything outside the markers is kept byte for byte, so the prose a person
 * wrote around a bench's tables survives every run. Missing or misordered markers throw: a bench
 * must not guess where its figures go.
 */
export function replaceMarkedBlock(doc: string, name: string, body: string): string {
  const [from, to] = locate(doc, name);
  return `${doc.slice(0, from)}\n${body.trim()}\n${doc.slice(to)}`;
}

/** Rewrites the marked block `name` of a document on disk (see replaceMarkedBlock). */
export function writeMarkedBlock(file: string, name: string, body: string): void {
  writeFileSync(file, replaceMarkedBlock(readFileSync(file, 'utf8'), name, body));
}
