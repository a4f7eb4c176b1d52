#!/usr/bin/env node
// Thin launcher over the bundled CLI (dist/bundle, built by `npm ci` through the `prepare` script:
// scripts/bundle.ts). For src/ positions in a stack trace: NODE_OPTIONS=--enable-source-maps.
import { main } from '../dist/bundle/main.js';

// `quantum-apply … | head` closes the pipe early: stop quietly instead of an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`quantum-apply: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
