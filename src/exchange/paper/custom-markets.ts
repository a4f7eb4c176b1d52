/**
 * Markets an operator lists for the paper exchange beyond the built-in ones: any symbol, given
 * by its quantity step and mark price (and, optionally, its price tick), on the command line as
 * `PEPEUSDT:step=1:mark=0.0000123[:tick=0.0000001]` or in a JSON file
 * `[{"symbol": "PEPEUSDT", "step": "1", "mark": 0.0000123}]`. The other filters follow from
 * those two, so a symbol needs no more than what decides an order's size and price.
 */
import { z } from 'zod';
import { SYMBOL_PATTERN } from '../../domain/proposal.js';
import { parsePlainDecimal } from '../../domain/decimal.js';
import type { PaperMarket } from './markets.js';

/** A positive plain decimal (no exponent): steps and ticks are compared exactly as text. */
const positiveDecimal = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim())
  .refine((t) => {
    const d = parsePlainDecimal(t);
    return d !== null && d.m > 0n;
  }, 'a positive plain decimal, e.g. 0.001');

export const marketSpecSchema = z
  .object({
    symbol: z.string().regex(SYMBOL_PATTERN, 'a symbol of 2-30 capitals and digits, e.g. PEPEUSDT'),
    step: positiveDecimal,
    mark: z.number().finite().positive(),
    tick: positiveDecimal.optional(),
  })
  .strict();

export type MarketSpec = z.infer<typeof marketSpecSchema>;

/** 10^e as plain decimal text (`-3` → `0.001`, `2` → `100`). */
function pow10Text(e: number): string {
  return e >= 0 ? `1${'0'.repeat(e)}` : `0.${'0'.repeat(-e - 1)}1`;
}

/** Digits after the decimal point of a plain decimal's text. */
function decimalsOf(text: string): number {
  return parsePlainDecimal(text)?.scale ?? 0;
}

/**
 * The full market of a spec. The tick defaults to about a hundred-thousandth of the mark (a power
 * of ten, as Binance's ticks are: BTCUSDT at 60000 gets 0.1), so a stop price near the mark has a
 * grid to sit on; prices may range from one tick to a thousand times the mark's order of magnitude.
 */
export function customMarket(spec: MarketSpec): PaperMarket {
  const magnitude = Math.floor(Math.log10(spec.mark));
  const tick = spec.tick ?? pow10Text(Math.min(0, Math.max(-8, magnitude - 5)));
  const base = spec.symbol.replace(/(USDT|USDC|BUSD)$/, '') || spec.symbol;
  const step = parsePlainDecimal(spec.step)!;
  return {
    symbol: spec.symbol,
    baseAsset: base,
    tickSize: tick,
    stepSize: spec.step,
    minQty: spec.step,
    maxQty: '1000000000',
    marketStepSize: spec.step,
    marketMinQty: spec.step,
    marketMaxQty: '100000000',
    minNotional: '5',
    pricePrecision: decimalsOf(tick),
    quantityPrecision: step.scale,
    minPrice: tick,
    maxPrice: pow10Text(Math.max(magnitude + 3, 0)),
    mark: spec.mark,
  };
}

/** A parse that names what is wrong: the market, or a reason for a person. */
export type MarketParse = { ok: true; market: PaperMarket } | { ok: false; reason: string };

function fromSpec(input: unknown, where: string): MarketParse {
  const parsed = marketSpecSchema.safeParse(input);
  if (parsed.success) return { ok: true, market: customMarket(parsed.data) };
  const issue = parsed.error.issues[0]!;
  const field = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, reason: `${where}: ${field}${issue.message}` };
}

/** `SYMBOL:step=<decimal>:mark=<number>[:tick=<decimal>]`, as given to `--symbol`. */
export function parseMarketText(text: string): MarketParse {
  const [symbol = '', ...pairs] = text.trim().split(':');
  const spec: Record<string, unknown> = { symbol };
  for (const pair of pairs) {
    const m = /^(step|mark|tick)=(.+)$/.exec(pair);
    if (!m)
      return { ok: false, reason: `"${text}": expected SYMBOL:step=<s>:mark=<m>[:tick=<t>], got "${pair}"` };
    const [, key = '', value = ''] = m;
    if (key === 'mark' && !/^\d+(?:\.\d+)?$/.test(value)) {
      return { ok: false, reason: `"${text}": mark: a positive decimal, e.g. 123.4` };
    }
    spec[key] = key === 'mark' ? Number(value) : value;
  }
  return fromSpec(spec, `"${text}"`);
}

/** The contents of a `--symbols-file`: a JSON array of `{symbol, step, mark, tick?}`. */
export function parseMarketsFile(
  text: string,
  name: string,
): { ok: true; markets: PaperMarket[] } | { ok: false; reason: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `${name}: not JSON (${(err as Error).message})` };
  }
  if (!Array.isArray(body))
    return { ok: false, reason: `${name}: expected a JSON array of {symbol, step, mark}` };
  const markets: PaperMarket[] = [];
  for (const [i, entry] of body.entries()) {
    const r = fromSpec(entry, `${name}[${i}]`);
    if (!r.ok) return r;
    markets.push(r.market);
  }
  return { ok: true, markets };
}
