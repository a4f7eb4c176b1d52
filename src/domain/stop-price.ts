/**
 * A plan's stop price checked against the symbol's PRICE_FILTER and the mark, before any stop is
 * sent: a stop the venue would refuse (off the tick grid, out of [minPrice, maxPrice], -2021
 * "would immediately trigger") ends the plan BLOCKED with a reason instead.
 *
 * Rounding goes AWAY from the mark (a SELL stop down to the tick, a BUY stop up), so rounding
 * alone never turns a valid stop into one that fires at once. Binance USD-M documents the filter
 * in its API docs, Common Definition → Filters → PRICE_FILTER: a zero minPrice or maxPrice
 * disables that bound, and a price is on the grid when (price - minPrice) % tickSize == 0.
 *
 * Exact decimal arithmetic on scaled bigints; the work is bounded whatever the input (1e308 is
 * refused from its exponent, 5e-324 from its digit count, never expanded into 300 digits).
 */
import { atScale, normalize, parsePlainDecimal, toText, type Dec } from './decimal.js';
import { shortestDigits } from './pyfloat.js';

export const STOP_PRICE_REASONS = [
  'invalid_price_filter',
  'invalid_stop_price',
  'stop_price_out_of_range',
  'mark_price_unavailable',
  'stop_price_would_trigger',
] as const;
export type StopPriceReason = (typeof STOP_PRICE_REASONS)[number];

export interface StopPriceInput {
  /** The plan's stop price, a Python float read into a JS number (parsePyFloat). */
  price: number;
  /** The side that closes the position: SELL for a long, BUY for a short. */
  side: 'BUY' | 'SELL';
  /** PRICE_FILTER values as SymbolRules carries them (plain decimal text); min/max "0" = no bound. */
  tickSize: string;
  minPrice: string;
  maxPrice: string;
  markPrice: number;
}

export type StopPriceCheck =
  { ok: true; triggerPrice: string } | { ok: false; reason: StopPriceReason; detail: string };

/** Filter values longer than this are refused, which bounds every bigint below to ~80 digits. */
const FILTER_TEXT = /^(\d{1,40})(?:\.(\d{1,40}))?$/;
/** Prices of 10^40 and more are refused before any arithmetic: no maxPrice we parse comes near. */
const MAX_INTEGER_DIGITS = 40;

/** A positive number as shortest-repr digits: value = 0.DIGITS × 10^point (no leading/trailing zeros). */
interface Digits {
  digits: string;
  point: number;
}

/** A filter value (unsigned, bounded digits), at its own scale. */
function parseFilter(text: string): Dec | null {
  return typeof text === 'string' && FILTER_TEXT.test(text) ? parsePlainDecimal(text) : null;
}

function at(v: Dec, scale: number): bigint {
  return atScale(v, scale).m;
}

/** Exact order of two positive values given as digits: magnitude first, then the digits. */
function compareDigits(a: Digits, b: Digits): -1 | 0 | 1 {
  if (a.point !== b.point) return a.point < b.point ? -1 : 1;
  const len = Math.max(a.digits.length, b.digits.length);
  const x = a.digits.padEnd(len, '0');
  const y = b.digits.padEnd(len, '0');
  return x < y ? -1 : x > y ? 1 : 0;
}

const refuse = (reason: StopPriceReason, detail: string): StopPriceCheck => ({ ok: false, reason, detail });

/**
 * The trigger price to send for a stop at `price`: on the tick grid, rounded away from the mark,
 * within [minPrice, maxPrice] (each bound only when non-zero), strictly below the mark for a SELL
 * stop and strictly above it for a BUY stop. Checks run in this order: filter, price, range, mark.
 */
export function checkStopPrice(input: StopPriceInput): StopPriceCheck {
  const { price, side, markPrice } = input;
  const tick = parseFilter(input.tickSize);
  const min = parseFilter(input.minPrice);
  const max = parseFilter(input.maxPrice);
  if (!tick || !min || !max || tick.m === 0n) {
    return refuse(
      'invalid_price_filter',
      `tickSize ${input.tickSize} minPrice ${input.minPrice} maxPrice ${input.maxPrice}`,
    );
  }
  const scale = Math.max(tick.scale, min.scale, max.scale);
  const tickUnits = at(tick, scale);
  const minUnits = at(min, scale);
  const maxUnits = at(max, scale);
  if (maxUnits > 0n && maxUnits < minUnits) {
    return refuse('invalid_price_filter', `maxPrice ${input.maxPrice} below minPrice ${input.minPrice}`);
  }
  // The documented grid starts at minPrice; one that is not itself on the tick grid leaves two
  // readings of "on the grid", and guessing the wrong one is a -4014 at the venue.
  if (minUnits % tickUnits !== 0n) {
    return refuse(
      'invalid_price_filter',
      `minPrice ${input.minPrice} not a multiple of tickSize ${input.tickSize}`,
    );
  }
  if (side !== 'SELL' && side !== 'BUY') return refuse('invalid_stop_price', `side ${String(side)}`);
  if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) {
    return refuse('invalid_stop_price', `price ${String(price)} is not a positive finite number`);
  }

  const p = shortestDigits(price);
  if (p.point > MAX_INTEGER_DIGITS) {
    return refuse(
      'stop_price_out_of_range',
      `price ${String(price)} has over ${MAX_INTEGER_DIGITS} integer digits`,
    );
  }
  // The price at `scale`, floored, and whether digits were dropped: digits past the grid's scale
  // only decide the rounding, so 5e-324 costs what 0.5 does.
  const coef = BigInt(p.digits);
  const exp = p.point - p.digits.length;
  let floorUnits: bigint;
  let dropped: boolean;
  if (exp + scale >= 0) {
    floorUnits = coef * 10n ** BigInt(exp + scale);
    dropped = false;
  } else if (-(exp + scale) >= p.digits.length) {
    floorUnits = 0n;
    dropped = true;
  } else {
    const div = 10n ** BigInt(-(exp + scale));
    floorUnits = coef / div;
    dropped = coef % div !== 0n;
  }
  const onGrid = !dropped && floorUnits % tickUnits === 0n;
  const down = (floorUnits / tickUnits) * tickUnits;
  const rounded = side === 'SELL' || onGrid ? down : down + tickUnits;
  if (rounded === 0n) {
    return refuse('invalid_stop_price', `price ${String(price)} is below one tick (${input.tickSize})`);
  }
  if (minUnits > 0n && rounded < minUnits) {
    return refuse('stop_price_out_of_range', `price ${String(price)} below minPrice ${input.minPrice}`);
  }
  if (maxUnits > 0n && rounded > maxUnits) {
    return refuse('stop_price_out_of_range', `price ${String(price)} above maxPrice ${input.maxPrice}`);
  }

  if (typeof markPrice !== 'number' || !Number.isFinite(markPrice) || markPrice <= 0) {
    return refuse('mark_price_unavailable', `mark ${String(markPrice)}`);
  }
  // The stop asked for is compared, not only the rounded one: a plan whose stop is through the
  // mark is refused even when rounding away from the mark would have moved it back.
  const vsMark = compareDigits(p, shortestDigits(markPrice));
  if (side === 'SELL' ? vsMark >= 0 : vsMark <= 0) {
    return refuse(
      'stop_price_would_trigger',
      `${side} stop ${String(price)} ${side === 'SELL' ? 'not below' : 'not above'} mark ${String(markPrice)}`,
    );
  }
  // Shown with the tick's decimals (trailing zeros of the tick dropped): the price is on its grid.
  const triggerPrice = toText(atScale({ m: rounded, scale }, normalize(tick).scale));
  return { ok: true, triggerPrice };
}
