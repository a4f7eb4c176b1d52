/**
 * `quantum-apply paper-exchange --port <p> --positions BTCUSDT=0.5,ETHUSDT=-2`: runs the paper
 * exchange until SIGTERM/SIGINT. Symbols beyond the built-in ones: `--symbol SYM:step=S:mark=M`
 * (repeatable) or `--symbols-file markets.json`. Credentials from PAPER_EXCHANGE_API_KEY / _SECRET
 * (defaults `paper-key` / `paper-secret`). Control endpoints (loopback only): GET /paper/state,
 * GET /paper/orders, GET|POST|DELETE /paper/faults, POST /paper/positions, POST /paper/marks.
 * The user data stream is on the same port: ws://<host>:<port>/ws/<listenKey> (or /private/ws/…).
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { loadPaperConfig } from '../../ops/config.js';
import {
  parseMarketsFile,
  parseMarketText,
  startPaperExchange,
  type PaperMarket,
} from '../../exchange/paper/index.js';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, loadOrReport, type CliContext } from '../util.js';

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

function parseMs(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 3_600_000)
    throw new InvalidArgumentError('milliseconds 1-3600000');
  return n;
}

function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new InvalidArgumentError('a count 0-100000');
  return n;
}

/** One `--symbol` spec, added to those before it. */
function collectMarket(text: string, previous: PaperMarket[] = []): PaperMarket[] {
  const r = parseMarketText(text);
  if (!r.ok) throw new InvalidArgumentError(r.reason);
  return [...previous, r.market];
}

/** The markets of a `--symbols-file`, or null when it is unreadable or invalid (reported, exit 2). */
function marketsFromFile(ctx: CliContext, path: string): PaperMarket[] | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    ctx.err(`quantum-apply paper-exchange: --symbols-file ${path}: ${(err as Error).message}\n`);
    return null;
  }
  const r = parseMarketsFile(text, path);
  if (r.ok) return r.markets;
  ctx.err(`quantum-apply paper-exchange: --symbols-file ${r.reason}\n`);
  return null;
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
      '--symbol <spec>',
      'list another symbol (repeatable), e.g. PEPEUSDT:step=1:mark=0.0000123[:tick=0.0000001]',
      collectMarket,
    )
    .option('--symbols-file <file>', 'list the symbols of a JSON array of {symbol, step, mark, tick?}')
    .option(
      '--synthetic-symbols <n>',
      'also list n synthetic markets SYN0000USDT... (load tests)',
      parseCount,
    )
    .option('--synthetic-position <amount>', 'position of every synthetic market (default 0)', parseAmount)
    .option('--hold-positions', 'book fills but keep positions at their size (load tests)')
    .option('--no-usage-headers', 'omit X-MBX-USED-WEIGHT/ORDER-COUNT headers (clients do not throttle)')
    .option(
      '--stream-ping-ms <ms>',
      "user data stream: the server's ping interval (default 180000, Binance's)",
      parseMs,
    )
    .option(
      '--stream-pong-timeout-ms <ms>',
      'user data stream: cut a connection that has not answered a ping this long (default 600000)',
      parseMs,
    )
    .action(
      async (o: {
        port?: number;
        host?: string;
        positions?: Record<string, number>;
        marks?: Record<string, number>;
        symbol?: PaperMarket[];
        symbolsFile?: string;
        syntheticSymbols?: number;
        syntheticPosition?: number;
        holdPositions?: boolean;
        usageHeaders?: boolean;
        streamPingMs?: number;
        streamPongTimeoutMs?: number;
      }) => {
        const cfg = loadOrReport(ctx, 'paper', loadPaperConfig);
        if (cfg === null) return;
        const fromFile = o.symbolsFile === undefined ? [] : marketsFromFile(ctx, o.symbolsFile);
        if (fromFile === null) {
          ctx.exitCode = EXIT_CONFIG;
          return;
        }
        let px;
        try {
          px = await startPaperExchange({
            port: o.port ?? cfg.port,
            host: o.host ?? cfg.host,
            apiKey: cfg.apiKey,
            apiSecret: cfg.apiSecret,
            positions: o.positions ?? {},
            marks: o.marks ?? {},
            markets: [...fromFile, ...(o.symbol ?? [])],
            syntheticSymbols: o.syntheticSymbols ?? 0,
            syntheticPosition: o.syntheticPosition ?? 0,
            holdPositions: o.holdPositions ?? false,
            usageHeaders: o.usageHeaders ?? true,
            userStream: { pingIntervalMs: o.streamPingMs, pongTimeoutMs: o.streamPongTimeoutMs },
          });
        } catch (err) {
          ctx.err(`paper-exchange: ${err instanceof Error ? err.message : String(err)}\n`);
          ctx.exitCode = EXIT_FAILURE;
          return;
        }
        ctx.out(
          `paper exchange listening on ${px.url} (BINANCE_FUTURES_BASE_URL=${px.url}; state at ${px.url}/paper/state; user stream at ${px.wsUrl}/ws/<listenKey>)\n`,
        );
        const why = await ctx.waitForStop();
        await px.close();
        ctx.out(`paper exchange stopped (${why})\n`);
        ctx.exitCode = EXIT_OK;
      },
    );
}
