/**
 * One floor role in its own process (bench/floor.ts spawns it): `worker.ts apply|governor|p33`.
 * Prints `ready` once its stream groups and subscriptions are in place. FLOOR_FRESH_ORDERS=0 sends
 * orders on kept-alive sockets (default: a fresh socket per order, as ours does).
 */
import { runApply } from './apply.js';
import { runGovernor } from './governor.js';
import { runP33 } from './p33.js';

const role = process.argv[2];
const ready = () => process.stdout.write('ready\n');
process.once('SIGTERM', () => process.exit(0));
if (role === 'apply') {
  await runApply(process.env.FLOOR_FRESH_ORDERS !== '0');
  ready();
} else if (role === 'governor' || role === 'p33') {
  // Their loops never return: ready once the group exists (the first read is under way).
  setTimeout(ready, 300);
  await (role === 'governor' ? runGovernor() : runP33());
} else {
  process.stderr.write(`usage: worker.ts apply|governor|p33 (got ${role})\n`);
  process.exit(2);
}
