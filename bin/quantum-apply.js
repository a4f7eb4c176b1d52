#!/usr/bin/env node
// Thin launcher over the compiled CLI (built by `npm ci` through the `prepare` script).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`quantum-apply: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
