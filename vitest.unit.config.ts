/**
 * `npm run test:unit`: the suites that need no Redis, PostgreSQL, child process or service, so
 * they run anywhere, in about a third of the time of `npm test` (the property-based fuzz suites
 * run with `npm run test:reliability`). A suite that starts any of those belongs in `npm test` only:
 * list it under `exclude`.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  test: {
    ...base.test,
    include: [
      'test/domain/**/*.test.ts',
      'test/exchange/**/*.test.ts',
      'test/ops/**/*.test.ts',
      'test/services/*.test.ts',
      'test/services/apply/{reconciler,scheduler}.test.ts',
      'test/services/governor/{arm-state,plan-consumer,position-cache}.test.ts',
      'test/store/{ledger-scripts,memory-store,permit-chain.memory}.test.ts',
      'test/inspect/{scan,status-consumers,verdict}.test.ts',
      'test/docs/protocol.test.ts',
      'test/cli/run-service.test.ts',
      'test/helpers/wait.test.ts',
      'test/bench/*.test.ts',
    ],
    exclude: [
      // child processes: the CLI, a Python check, a logger in a subprocess
      'test/domain/fixtures.test.ts',
      'test/domain/plan-id-cli.test.ts',
      'test/ops/logger.test.ts',
      // the CLI rig, or suites with a private redis-server
      'test/exchange/paper-symbols.test.ts',
      'test/ops/config-live-keys.test.ts',
      'test/ops/log-lines.test.ts',
    ],
  },
});
