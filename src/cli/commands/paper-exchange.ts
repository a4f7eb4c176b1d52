/**
 * `quantum-apply paper-exchange --port <p> --positions BTCUSDT=0.5,ETHUSDT=-2`: runs the paper
 * exchange until SIGTERM/SIGINT. Credentials from PAPER_EXCHANGE_API_KEY / _SECRET (defaults
 * `paper-key` / `paper-secret`). Control endpoints (loopback only): GET /paper/state,
 * GET|POST|DELETE /paper/faults, POST /paper/positions, POST /paper/marks.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadPaperConfig } from '../../ops/config.js';
import { startPaperExchange } from '../../exchange/paper/index.js';
import { EXIT_FAILURE, EXIT_OK, loadOrReport, type CliContext } from '../util.js';

/** Parses `SYM=amount,SYM=amount`; throws InvalidArgumentError with the offending pair. */
export function parseAmounts(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Z0-9]{2,30})=(-?\d+(?:\.\d+)?)$/.exec(pair);
    if (!m) throw new InvalidArgumentError(`expected SYMBOL=amount, got "${pair}"`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number 0-65535');
  return n;
}

function parseAmount(text: string): number {
  if (!/^-?\d+(?:\.\d+)?$/.test(text)) throw new InvalidArgumentError('a decimal amount, e.g. 2.5');
  return Number(text);
}

function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new InvalidArgumentError('a count 0-100000');
  return n;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('paper-exchange')
    .description('run a local exchange speaking the Binance USD-M REST subset (testing, demos, benchmarks)')
    .option(
      '--port <port>',
      'listen port (default PAPER_EXCHANGE_PORT or 8090; 0 = any free port)',
      parsePort,
    )
    .option('--host <host>', 'listen host (default PAPER_EXCHANGE_HOST or 127.0.0.1)')
    .option('--positions <list>', 'initial positions, e.g. BTCUSDT=0.5,ETHUSDT=-2', parseAmounts)
    .option('--marks <list>', 'mark prices, e.g. BTCUSDT=61000', parseAmounts)
    .option(
      '--synthetic-symbols <n>',
      'also list n synthetic markets SYN0000USDT... (load tests)',
      parseCount,
    )
    .option('--synthetic-position <amount>', 'position of every synthetic market (default 0)', parseAmount)
    .option('--hold-positions', 'book fills but keep positions at their size (load tests)')
    .option('--no-usage-headers', 'omit X-MBX-USED-WEIGHT/ORDER-COUNT headers (clients do not throttle)')
    .action(
      async (o: {
        port?: number;
        host?: string;
        positions?: Record<string, number>;
        marks?: Record<string, number>;
        syntheticSymbols?: number;
        syntheticPosition?: number;
        holdPositions?: boolean;
        usageHeaders?: boolean;
      }) => {
        const cfg = loadOrReport(ctx, 'paper', loadPaperConfig);
        if (cfg === null) return;
        let px;
        try {
          px = await startPaperExchange({
            port: o.port ?? cfg.port,
            host: o.host ?? cfg.host,
            apiKey: cfg.apiKey,
            apiSecret: cfg.apiSecret,
            positions: o.positions ?? {},
            marks: o.marks ?? {},
            syntheticSymbols: o.syntheticSymbols ?? 0,
            syntheticPosition: o.syntheticPosition ?? 0,
            holdPositions: o.holdPositions ?? false,
            usageHeaders: o.usageHeaders ?? true,
          });
        } catch (err) {
          ctx.err(`paper-exchange: ${err instanceof Error ? err.message : String(err)}\n`);
          ctx.exitCode = EXIT_FAILURE;
          return;
        }
        ctx.out(
          `paper exchange listening on ${px.url} (BINANCE_FUTURES_BASE_URL=${px.url}; state at ${px.url}/paper/state)\n`,
        );
        const why = await ctx.waitForStop();
        await px.close();
        ctx.out(`paper exchange stopped (${why})\n`);
        ctx.exitCode = EXIT_OK;
      },
    );
}
