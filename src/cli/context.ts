/**
 * The CLI context every command receives: injectable env, output and stop signal, and the exit
 * codes. Kept free of heavy imports: main.ts loads it for every command, before it knows which
 * command module (and which dependencies) to load.
 */
import type { DestinationStream } from 'pino';
import type { Env } from '../ops/config.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export interface CliIo {
  env?: Env;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /**
   * Resolves with a reason when the process should stop; default: the first SIGTERM or SIGINT.
   * `abort` fires when the caller no longer waits (listeners must be removed then).
   */
  waitForStop?: (abort?: AbortSignal) => Promise<string>;
  /** Turn unhandled promise rejections into a graceful stop (default: when using real signals). */
  handleProcessErrors?: boolean;
  /** Where service logs go (default: stdout). */
  logDestination?: DestinationStream;
  /** Start services' ops HTTP servers on this host (default 0.0.0.0). */
  opsHost?: string;
}

export interface CliContext {
  /** The environment; `--env-file` fills in what it lacks before a command's action runs. */
  env: Env;
  out(text: string): void;
  err(text: string): void;
  waitForStop(abort?: AbortSignal): Promise<string>;
  readonly handleProcessErrors: boolean;
  readonly logDestination: DestinationStream | undefined;
  readonly opsHost: string;
  /** Set by a command's action; main() returns it. */
  exitCode: number;
}

export function waitForSignal(
  signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
  abort?: AbortSignal,
): Promise<string> {
  return new Promise((resolve) => {
    const off = () => {
      for (const s of signals) process.off(s, onSignal);
    };
    const onSignal = (sig: NodeJS.Signals) => {
      // Listeners go away after the first signal, so a second one kills the process as usual.
      off();
      resolve(sig);
    };
    for (const s of signals) process.on(s, onSignal);
    abort?.addEventListener('abort', off, { once: true });
  });
}

export function createContext(io: CliIo = {}): CliContext {
  return {
    env: io.env ?? process.env,
    out: io.stdout ?? ((t) => void process.stdout.write(t)),
    err: io.stderr ?? ((t) => void process.stderr.write(t)),
    waitForStop: io.waitForStop ?? ((abort) => waitForSignal(['SIGTERM', 'SIGINT'], abort)),
    handleProcessErrors: io.handleProcessErrors ?? io.waitForStop === undefined,
    logDestination: io.logDestination,
    opsHost: io.opsHost ?? '0.0.0.0',
    exitCode: 0,
  };
}
