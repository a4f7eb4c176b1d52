/**
 * Top self-time functions (and packages) of V8 .cpuprofile files written by `node --cpu-prof`.
 *
 *   npx tsx bench/lib/cpuprofile-top.ts <file.cpuprofile>... [--top 25]
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
}

interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

function where(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `ours:${url.slice(dist + 6)}`;
  return url === '' ? '(native)' : url.replace(/^file:\/\//, '');
}

const maps = new Map<string, SourceMap | null>();

/**
 * A frame in a bundled file (dist/bundle/chunk-*.js) put back on its source file and line through
 * the `.map` beside it, so that a profile of the deployed bundle names packages and our modules.
 */
function unbundled(frame: Node['callFrame']): Node['callFrame'] {
  if (!frame.url.startsWith('file://') || !frame.url.endsWith('.js')) return frame;
  const file = fileURLToPath(frame.url);
  let map = maps.get(file);
  if (map === undefined) {
    map = existsSync(`${file}.map`)
      ? new SourceMap(
          JSON.parse(readFileSync(`${file}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0],
        )
      : null;
    maps.set(file, map);
  }
  if (!map) return frame;
  const e = map.findEntry(frame.lineNumber, frame.columnNumber ?? 0) as {
    originalSource?: string;
    originalLine?: number;
  };
  if (!e.originalSource) return frame;
  const src = e.originalSource.startsWith('file://') ? e.originalSource : `file://${e.originalSource}`;
  return {
    ...frame,
    url: src.replace(/^file:\/\/.*?\/(src|node_modules)\//, 'file:///$1/'),
    lineNumber: e.originalLine ?? 0,
  };
}

/** Self time per function and per package (or our file), largest first. */
export function selfTimes(profile: Profile): { functions: SelfTime[]; places: SelfTime[]; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const place = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    if (!n) return;
    totalUs += dt;
    const { functionName, url, lineNumber } = unbundled(n.callFrame);
    const w = where(url);
    const key = `${functionName || '(anonymous)'} ${w}${url ? `:${lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + dt);
    place.set(w, (place.get(w) ?? 0) + dt);
  });
  const sorted = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: us / 1000, share: totalUs ? us / totalUs : 0 }));
  return { functions: sorted(fn), places: sorted(place), totalMs: totalUs / 1000 };
}

function main(): void {
  const args = process.argv.slice(2);
  const ti = args.indexOf('--top');
  const top = ti >= 0 ? Number(args[ti + 1]) : 25;
  const files = args.filter((a, i) => a.endsWith('.cpuprofile') && (ti < 0 || i !== ti + 1));
  for (const f of files) {
    const r = selfTimes(JSON.parse(readFileSync(f, 'utf8')) as Profile);
    process.stdout.write(`\n== ${f} (${(r.totalMs / 1000).toFixed(1)} s sampled)\n-- by package / file\n`);
    for (const p of r.places.slice(0, top))
      process.stdout.write(`${(p.share * 100).toFixed(1).padStart(5)} %  ${p.name}\n`);
    process.stdout.write('-- by function (self)\n');
    for (const p of r.functions.slice(0, top))
      process.stdout.write(`${(p.share * 100).toFixed(1).padStart(5)} %  ${p.name}\n`);
  }
}

if (process.argv[1]?.endsWith('cpuprofile-top.ts')) main();
