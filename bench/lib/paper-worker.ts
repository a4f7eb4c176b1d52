/**
 * The paper exchange in its own process for bench/authorities.ts, so its request handling does
 * not share an event loop with the authority or the measurement. Prints `url <base url>`.
 */
import { startPaperExchange } from '../../src/exchange/paper/index.js';
import { BENCH_POSITIONS } from './authority-config.js';

const paper = await startPaperExchange({
  host: '127.0.0.1',
  port: 0,
  apiKey: 'k',
  apiSecret: 's',
  positions: BENCH_POSITIONS,
});
process.stdout.write(`url ${paper.url}\n`);
process.once('SIGTERM', () => {
  void paper.close().then(() => process.exit(0));
});
