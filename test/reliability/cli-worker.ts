/**
 * `quantum-apply <args>` in a process of its own, as deployed but from the sources (tsx):
 *   node --import tsx test/reliability/cli-worker.ts <command> [options]
 * Configured only through its environment; stops gracefully on SIGTERM.
 */
import { main } from '../../src/cli/main.js';

main(process.argv).then((code) => {
  if (typeof code === 'number') process.exitCode = code;
});
