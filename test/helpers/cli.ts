/**
 * Runs `quantum-apply <args>` in-process with an injected env, captured output and logs, and a
 * stop the test triggers (instead of SIGTERM). Services bind their ops servers on loopback.
 */
import { main } from '../../src/cli/main.js';

export function runCli(args: string[], env: Record<string, string>) {
  let release: (r: string) => void = () => {};
  const stopped = new Promise<string>((r) => (release = r));
  const out: string[] = [];
  const err: string[] = [];
  const logs: string[] = [];
  const done = main(['node', 'quantum-apply', ...args], {
    env,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    waitForStop: () => stopped,
    logDestination: { write: (s: string) => void logs.push(s) },
    opsHost: '127.0.0.1',
  });
  const lines = () => logs.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { done, stop: () => release('test'), out, err, logs, lines };
}
