/**
 * Proposals written under a symbol not in SYMBOLS (`BTCUSTD`, `btcusdt`). Apply reads only its
 * own symbols' keys, so such a proposal yields no plan, no result and no log line: a typo in the
 * exit brain's or the operator's symbol would be silent. Each one seen (its keyspace
 * notification) is counted; each symbol is logged at most once an hour, with the configured
 * symbol it most likely meant.
 */
import { likelySymbol } from '../../domain/symbol-typo.js';
import type { Clock } from '../../ops/clock.js';
import type { Logger } from '../../ops/logger.js';
import { RecentSymbols } from '../recent-symbols.js';

export const UNKNOWN_SYMBOL_LOG_EVERY_MS = 3_600_000;
/** Symbols remembered as logged within the hour; past it the one logged longest ago is forgotten. */
const REMEMBERED = 1000;
/** A key name can be any length: what is logged and remembered of its symbol. */
const SYMBOL_CHARS = 64;

export class UnknownSymbols {
  private readonly logged: RecentSymbols;

  constructor(
    private readonly o: { symbols: readonly string[]; clock: Clock; logger: Logger; count: () => void },
  ) {
    this.logged = new RecentSymbols(o.clock, UNKNOWN_SYMBOL_LOG_EVERY_MS, REMEMBERED);
  }

  /** A proposal was written under `symbol`, which is not one of ours. */
  seen(symbol: string): void {
    this.o.count();
    const shown = symbol.slice(0, SYMBOL_CHARS);
    if (this.logged.has(shown)) return;
    this.logged.note(shown);
    const meant = likelySymbol(shown, this.o.symbols);
    this.o.logger.warn(
      { symbol: shown, ...(shown.length < symbol.length ? { symbol_chars: symbol.length } : {}), meant },
      `apply: proposal under ${JSON.stringify(shown)} ignored: not in SYMBOLS` +
        (meant === null ? '' : ` (meant ${meant}?)`),
    );
  }
}
