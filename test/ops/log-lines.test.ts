/**
 * What a log line holds: each key once (a key bound at two levels of child loggers is merged),
 * and LOG_FORMAT=pretty turning the same, already redacted, lines into text for people.
 */
import { describe, expect, it } from 'vitest';
import { loadApplyConfig, loadGovernorConfig, ConfigError } from '../../src/ops/config.js';
import { captureLogger, createLogger } from '../../src/ops/logger.js';
import { prettyLine } from '../../src/ops/log-pretty.js';
import { skipRedis } from '../helpers/redis-server.js';
import { proposeHalfCloseAndAwaitResult, runCli, startCliRig } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

/** The top-level keys of a JSON object line, in order, repeats included (JSON.parse hides them). */
export function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
      expectKey = depth === 1 && ch === '{';
    } else if (ch === '}' || ch === ']') depth--;
    else if (ch === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

const repeated = (keys: string[]) => keys.filter((k, i) => keys.indexOf(k) !== i);

describe('log lines', () => {
  it('when a child of a child binds component again then the line holds it once, as a path', () => {
    const { logger, text, lines } = captureLogger({ service: 'all' });
    logger.child({ component: 'apply' }).child({ component: 'exchange' }).info('ready');
    const raw = text().trim();
    expect(repeated(topLevelKeys(raw))).toEqual([]);
    expect(lines()[0]).toMatchObject({ service: 'all', component: 'apply/exchange', msg: 'ready' });
  });

  it('when another key is bound twice then the innermost value stands, once, and secrets stay hidden', () => {
    const { logger, text, lines } = captureLogger();
    logger
      .child({ plan: 'p1', apiKey: 'K-OUTER' })
      .child({ plan: 'p2', symbol: 'BTCUSDT', apiKey: 'K-INNER' })
      .info('x');
    expect(repeated(topLevelKeys(text().trim()))).toEqual([]);
    expect(lines()[0]).toMatchObject({ plan: 'p2', symbol: 'BTCUSDT', apiKey: '<redacted>' });
    expect(text()).not.toMatch(/K-OUTER|K-INNER/);
  });

  it('when LOG_FORMAT=pretty then a line reads time, level, service[component], message, fields', () => {
    const out: string[] = [];
    const logger = createLogger({
      service: 'apply',
      format: 'pretty',
      destination: { write: (s) => void out.push(s) },
    });
    logger
      .child({ component: 'store' })
      .warn({ symbol: 'BTCUSDT', apiSecret: 'S-9931', note: 'a b' }, 'slow');
    logger.error({ err: new Error('boom') }, 'failed');
    expect(out[0]).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}apply\[store\] slow symbol=BTCUSDT apiSecret=<redacted> note="a b"\n$/,
    );
    expect(out[1]).toMatch(/^\S+ ERROR apply failed err=boom\n {4}Error: boom\n {8}at /);
    expect(out.join('')).not.toContain('S-9931');
  });

  it('when a line is not a JSON object then pretty passes it through', () => {
    expect(prettyLine('plain text\n')).toBe('plain text\n');
  });

  it('when LOG_FORMAT is set then every service reads it, and a bad value names the variable', () => {
    expect(loadApplyConfig({}).logFormat).toBe('json');
    expect(loadGovernorConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadApplyConfig({ LOG_FORMAT: 'fancy' })).toThrow(ConfigError);
    expect(() => loadApplyConfig({ LOG_FORMAT: 'fancy' })).toThrow(/LOG_FORMAT/);
  });
});

describe.skipIf(skipRedis)('log lines of a running service', () => {
  it('when all runs then no line repeats a key; with LOG_FORMAT=pretty the governor writes text lines', async () => {
    const rig = await startCliRig({ BTCUSDT: 0.1 });
    try {
      const all = runCli(['all'], { ...rig.env, SYMBOLS: 'BTCUSDT', APPLY_ALLOWLIST: 'BTCUSDT' });
      await until(() => all.logs.some((l) => l.includes('all started')), 8000, 'all started');
      expect(await proposeHalfCloseAndAwaitResult(rig.store, 'BTCUSDT')).toBeTruthy();
      all.stop();
      expect(await all.done).toBe(0);
      const bad = all.logs.filter((l) => repeated(topLevelKeys(l.trim())).length > 0);
      expect(bad).toEqual([]);

      const gov = runCli(['governor'], { ...rig.env, LOG_FORMAT: 'pretty' });
      await until(() => gov.logs.some((l) => l.includes('governor started')), 8000, 'governor started');
      gov.stop();
      expect(await gov.done).toBe(0);
      const started = gov.logs.find((l) => l.includes('governor started'))!;
      expect(started).toMatch(/^\S+ INFO {2}governor governor started /);
    } finally {
      await rig.close();
    }
  });
});
