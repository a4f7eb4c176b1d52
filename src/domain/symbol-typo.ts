/**
 * Which configured symbol a proposal's unknown symbol most likely meant: the same letters in
 * another case (`btcusdt`), or one slip away (a letter wrong, missing, added, or two swapped:
 * `BTCUSTD`). Only for the warning an operator reads; nothing is ever routed by it.
 */

/** The configured symbol `symbol` most likely meant; null when none or more than one is as near. */
export function likelySymbol(symbol: string, configured: readonly string[]): string | null {
  const upper = symbol.trim().toUpperCase();
  if (configured.includes(upper)) return upper;
  const near = configured.filter((c) => oneSlipApart(upper, c));
  return near.length === 1 ? near[0]! : null;
}

/** At most one substitution, insertion, deletion or swap of two neighbours turns `a` into `b`. */
function oneSlipApart(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    const swapped = a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
    return swapped || a.slice(i + 1) === b.slice(i + 1);
  }
  return a.length < b.length ? a.slice(i) === b.slice(i + 1) : a.slice(i + 1) === b.slice(i);
}
