/** What bench/authorities.ts and its worker processes agree on. */
export const BENCH_SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
export const BENCH_POSITIONS = { BTCUSDT: 0.5, ETHUSDT: -4, SOLUSDT: 300 };
