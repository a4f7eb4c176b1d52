/**
 * The CLI as deployed: src/cli bundled by esbuild into dist/bundle, which bin/quantum-apply.js runs.
 *
 *   npx tsx scripts/bundle.ts [--outdir dist/bundle]
 *
 * Why a bundle: a process imports ~370 module files from dist/ and node_modules (zod alone loads its
 * 64 locale files through its index); each is a module record, a source string and its compiled
 * top-level code. The bundle is ~20 files with the unused parts shaken out, and `all` starts
 * ~8 MB lighter: 75 → 68 MB RSS after import (BENCHMARKS.md, Memory of `all`). tsc stays the type
 * checker and still emits dist/ (the benches' older builds and the tests do not need the bundle).
 *
 * For the operator: identifiers are kept (stack traces name the functions; only whitespace and
 * syntax are minified), and each file has an external source map, so `NODE_OPTIONS=--enable-source-maps`
 * turns a trace's positions back into src/ lines. Every entry and chunk sits in one directory, so
 * the Lua scripts copied beside them are found the way src/store/redis/scripts.ts looks (`./lua`),
 * and package.json (the version) sits two levels above, as it does for dist/cli/main.js.
 */
import { build } from 'esbuild';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

export interface BundleResult {
  outdir: string;
  /** The output files (JS and maps), relative to outdir. */
  files: string[];
}

/** Bundles src/cli/main.ts and each command (lazily imported by main) into `outdir`. */
export async function bundleCli(outdir = join(ROOT, 'dist', 'bundle')): Promise<BundleResult> {
  rmSync(outdir, { recursive: true, force: true });
  const commands = readdirSync(join(ROOT, 'src/cli/commands'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(ROOT, 'src/cli/commands', f));
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'src/cli/main.ts'), ...commands],
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    // better-sqlite3 finds its native module relative to its own package, and pg requires the
    // optional pg-native only when asked: both stay in node_modules, loaded at run time.
    external: ['better-sqlite3', 'pg-native'],
    // CommonJS packages (ioredis, pino, prom-client, commander) call require() for node's own modules.
    banner: {
      js: "import { createRequire as __qaCreateRequire } from 'node:module'; const require = __qaCreateRequire(import.meta.url);",
    },
  });
  cpSync(join(ROOT, 'src/store/redis/lua'), join(outdir, 'lua'), { recursive: true });
  return { outdir, files: readdirSync(outdir).sort() };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const i = process.argv.indexOf('--outdir');
  const outdir = i > 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]!) : undefined;
  const started = Date.now();
  const { outdir: dir, files } = await bundleCli(outdir);
  const js = files.filter((f) => f.endsWith('.js')).length;
  process.stdout.write(`bundled the CLI into ${dir}: ${js} files in ${Date.now() - started} ms\n`);
}
