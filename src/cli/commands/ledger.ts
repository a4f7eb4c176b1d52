/**
 * `quantum-apply ledger sync [--symbol S] [--from-exchange] [--yes] [--json]`: P3.3's ledgers
 * beside the exchange's positions, and, when confirmed, each ledger that differs seeded from the
 * exchange. For the swap from the fleet's P3.3, whose ledger can sit at 0 under an open position
 * (every close is then denied reconcile_required_qty_mismatch). Reads P3.3's configuration: its
 * Redis, its exchange credentials, its allowlist.
 */
import type { Command } from 'commander';
import { parseDec } from '../../domain/decimal.js';
import { ledgerSyncRow, seededLedgerFields, type LedgerSyncRow } from '../../domain/position/ledger.js';
import { isValidSymbol } from '../../domain/proposal.js';
import { table } from '../../inspect/render.js';
import { createBinanceExchange } from '../../exchange/binance/index.js';
import type { ExchangePort } from '../../exchange/port.js';
import { loadP33Config, type P33Config } from '../../ops/config.js';
import { LEDGER_TTL_SEC } from '../../services/position-brain/snapshots.js';
import type { Store } from '../../store/port.js';
import { EXIT_CONFIG, EXIT_FAILURE, loadOrReport, type CliContext } from '../util.js';
import { openStoreOrReport } from './arm.js';

interface SyncOptions {
  symbol?: string[];
  fromExchange?: boolean;
  yes?: boolean;
  json?: boolean;
}

const WRITER_TEXT: Record<LedgerSyncRow['writtenBy'], string> = {
  'quantum-apply': 'quantum-apply',
  other: 'other (fleet?)',
  none: '-',
};

function syncTable(rows: LedgerSyncRow[]): string {
  const head = ['symbol', 'ledger', 'written_by', 'exchange', 'action'];
  const cells = rows.map((r) => [
    r.symbol,
    r.ledger ?? '(none)',
    WRITER_TEXT[r.writtenBy],
    r.exchange,
    r.action,
  ]);
  return `${table([head, ...cells], '').join('\n')}\n`;
}

async function readRows(store: Store, exchange: ExchangePort, symbols: string[]): Promise<LedgerSyncRow[]> {
  const [ledgers, positions] = await Promise.all([
    store.hgetallInOrder(symbols.map((s) => store.keys.positionLedger(s))),
    exchange.positions(symbols),
  ]);
  return symbols.map((symbol, i) => {
    const p = positions.find((x) => x.symbol === symbol);
    const amount = p ? parseDec(p.amountText) : null;
    if (!amount) throw new Error(`exchange position of ${symbol} missing or unparseable`);
    return ledgerSyncRow(symbol, ledgers[i]!, amount);
  });
}

async function sync(ctx: CliContext, opts: SyncOptions): Promise<void> {
  if (opts.yes && !opts.fromExchange) {
    ctx.err(
      'quantum-apply ledger sync: --yes writes only with --from-exchange (the exchange is the source)\n',
    );
    ctx.exitCode = EXIT_CONFIG;
    return;
  }
  const cfg = loadOrReport<P33Config>(ctx, 'ledger sync', loadP33Config);
  if (cfg === null) return;
  const symbols = opts.symbol?.flatMap((s) => s.split(',')).map((s) => s.trim()) ?? [...cfg.allowlist];
  const bad = symbols.find((s) => !isValidSymbol(s));
  if (bad !== undefined || symbols.length === 0) {
    ctx.err(`quantum-apply ledger sync: --symbol: not a symbol: ${JSON.stringify(bad ?? '')}\n`);
    ctx.exitCode = EXIT_CONFIG;
    return;
  }
  const { apiKey, apiSecret } = cfg.binance;
  if (apiKey === null || apiSecret === null) {
    ctx.err(
      `quantum-apply ledger sync: reading positions needs the ${cfg.binance.credentials} API key and secret P3.3 uses\n`,
    );
    ctx.exitCode = EXIT_CONFIG;
    return;
  }
  const store = await openStoreOrReport(ctx, 'ledger sync', cfg.redis);
  if (store === null) return;
  const exchange = createBinanceExchange({ baseUrl: cfg.binance.baseUrl, apiKey, apiSecret });
  try {
    const rows = await readRows(store, exchange, symbols);
    const todo = rows.filter((r) => r.action !== 'in_sync');
    const write = opts.fromExchange === true && opts.yes === true;
    if (write) {
      const nowSec = Date.now() / 1000;
      for (const r of todo) {
        await store.hset(
          store.keys.positionLedger(r.symbol),
          seededLedgerFields(parseDec(r.exchange)!, nowSec),
          LEDGER_TTL_SEC,
        );
      }
    }
    if (opts.json) {
      ctx.out(`${JSON.stringify({ rows, written: write ? todo.map((r) => r.symbol) : [] })}\n`);
      return;
    }
    ctx.out(syncTable(rows));
    if (todo.length === 0) ctx.out('every ledger matches the exchange; nothing to do\n');
    else if (write)
      ctx.out(`seeded ${todo.length} ledger(s) from the exchange: ${todo.map((r) => r.symbol).join(', ')}\n`);
    else {
      const only = opts.symbol ? ` --symbol ${symbols.join(',')}` : '';
      ctx.out(
        `nothing written; to seed ${todo.length} ledger(s) from the exchange run: quantum-apply ledger sync${only} --from-exchange --yes\n`,
      );
    }
  } catch (err) {
    ctx.err(`quantum-apply ledger sync: ${(err as Error).message}\n`);
    ctx.exitCode = EXIT_FAILURE;
  } finally {
    await Promise.allSettled([exchange.close(), store.close()]);
  }
}

export function register(program: Command, ctx: CliContext): void {
  const ledger = program.command('ledger').description("P3.3's position ledgers");
  ledger
    .command('sync')
    .description(
      "show P3.3's ledgers beside the exchange's positions; with --from-exchange --yes, seed each one that differs",
    )
    .option('--symbol <symbols...>', 'only these symbols (default: P33_ALLOWLIST)')
    .option('--from-exchange', "take the exchange's position as the ledger amount")
    .option('--yes', 'write (without it, only show what would be written)')
    .option('--json', 'one JSON object instead of the table')
    .addHelpText(
      'after',
      '\nRun it while no close is in flight. Exit codes: 0 done, 1 Redis or the exchange failed, 2 usage or configuration.',
    )
    .action(async (opts: SyncOptions) => sync(ctx, opts));
}
