#!/usr/bin/env node
// Thin launcher over the bundled CLI (dist/bundle, built by `npm ci` through the `prepare` script:
// scripts/bundle.ts). For src/ positions in a stack trace: NODE_OPTIONS=--enable-source-maps.
import { main } from '../dist/bundle/main.js';

main(process.argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`quantum-apply: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
