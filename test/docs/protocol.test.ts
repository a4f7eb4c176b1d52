/**
 * PROTOCOL.md is the wire contract a clone of the repo carries: these checks hold it to the code.
 * Every key name the key builder makes, every result error apply can publish, every metric the
 * services register and every authority reason must be listed in its section, as a code span in
 * the first cell of a table row (so a mention in passing elsewhere does not count).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PERMIT_REFUSALS } from '../../src/domain/permits.js';
import { SIGNATURE_REASONS } from '../../src/domain/permit-signing.js';
import { PLAN_SIGNATURE_REASONS } from '../../src/domain/plan-signing.js';
import { STOP_PRICE_REASONS } from '../../src/domain/stop-price.js';
import {
  createApplyMetrics,
  createExchangeMetrics,
  createGovernorMetrics,
  createP33Metrics,
  createStreamMetrics,
  createUserStreamMetrics,
} from '../../src/ops/metrics.js';
import { promSink } from '../../src/services/apply/metrics.js';
import { keySpace, type KeySpace } from '../../src/store/keys.js';
import { missingReason } from '../../src/store/permit-chain.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC = readFileSync(`${ROOT}PROTOCOL.md`, 'utf8');
const source = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');

/** The text under the heading that contains `title`, up to the next heading of its level or above. */
function section(title: string, text = DOC): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^#{1,6} /.test(l) && l.includes(title));
  if (start < 0) throw new Error(`PROTOCOL.md has no heading "${title}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => {
    const m = /^(#{1,6}) /.exec(l);
    return m !== null && m[1]!.length <= level;
  });
  return [lines[start]!, ...(end < 0 ? rest : rest.slice(0, end))].join('\n');
}

/** The code spans in the first cell of each table row of `text`. */
function rowNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(/`([^`]+)`/g)) out.add(m[1]!);
  }
  return out;
}

/** Literals of a union type `export type <name> = 'a' | 'b' ...;` in a source file. */
function unionLiterals(path: string, name: string): string[] {
  const m = new RegExp(`export type ${name} =([^;]+);`).exec(source(path));
  if (!m) throw new Error(`${path}: no union type ${name}`);
  return [...m[1]!.matchAll(/'([a-z0-9_]+)'/g)].map((x) => x[1]!);
}

function all(text: string, re: RegExp): string[] {
  return [...text.matchAll(re)].map((m) => m[1]!);
}

// ---------------------------------------------------------------- keys

const ID = '<id>';
const SYM = '<S>';
const DAY = '<YYYY-MM-DD>';

/** Every key builder with sample arguments; a builder missing here fails the first test. */
const BUILDERS: Record<string, (k: KeySpace) => string[]> = {
  proposal: (k) => [k.proposal(SYM)],
  proposalPattern: (k) => [k.proposalPattern()],
  dedupe: (k) => [k.dedupe(ID, SYM)],
  streamPublished: (k) => [k.streamPublished(ID)],
  planStream: (k) => [k.planStream()],
  resultStream: (k) => [k.resultStream()],
  governorPermit: (k) => [k.governorPermit(ID, SYM)],
  p33Permit: (k) => [k.p33Permit(ID, SYM)],
  permit: (k) => [k.permit('governor', ID, SYM), k.permit('p33', ID, SYM), k.permit('<name>', ID, SYM)],
  permitPattern: (k) => [k.permitPattern()],
  permitReceipt: (k) => [k.permitReceipt(ID, SYM)],
  governorBlock: (k) => [k.governorBlock(ID, SYM)],
  governorExec: (k) => [k.governorExec(SYM)],
  governorDaily: (k) => [k.governorDaily(SYM, DAY)],
  governorDisarm: (k) => [k.governorDisarm(DAY)],
  governorEvents: (k) => [k.governorEvents()],
  governorDecisions: (k) => [k.governorDecisions()],
  p33Decisions: (k) => [k.p33Decisions()],
  orderEvents: (k) => [k.orderEvents()],
  positionSnapshot: (k) => [k.positionSnapshot(SYM)],
  positionLedger: (k) => [k.positionLedger(SYM)],
  armState: (k) => [k.armState()],
  resultPublished: (k) => [k.resultPublished(ID)],
  orderIntent: (k) => [k.orderIntent(ID, SYM)],
  ledgerCursor: (k) => [k.ledgerCursor()],
  unresolvedOrders: (k) => [k.unresolvedOrders()],
  reconciledStream: (k) => [k.reconciledStream()],
  reconciledPublished: (k) => [k.reconciledPublished(ID)],
  reconciledCursor: (k) => [k.reconciledCursor()],
  authorityDecision: (k) => [k.authorityDecision('governor', ID, SYM), k.authorityDecision('p33', ID, SYM)],
  notifyProbe: (k) => [k.notifyProbe()],
  p33Reserved: (k) => [k.p33Reserved(SYM)],
  symbolLease: (k) => [k.symbolLease(SYM)],
  canaryStream: (k) => [k.canaryStream()],
  canaryPublished: (k) => [k.canaryPublished(ID)],
  canaryRun: (k) => [k.canaryRun()],
  canaryRequests: (k) => [k.canaryRequests()],
  failoverAudit: (k) => [k.failoverAudit()],
  failoverAudited: (k) => [k.failoverAudited('<kind>', ID)],
  heartbeat: (k) => [
    k.heartbeat('apply', '<host>-<pid>'),
    k.heartbeat('governor', '<host>-<pid>'),
    k.heartbeat('p33', '<host>-<pid>'),
  ],
  heartbeatPatterns: (k) => k.heartbeatPatterns(),
};

function names(k: KeySpace): string[] {
  return Object.values(BUILDERS).flatMap((build) => build(k));
}

describe('PROTOCOL.md keys', () => {
  it('when the key builder grows a builder then this test knows how to call it', () => {
    const builders = Object.entries(keySpace())
      .filter(([, v]) => typeof v === 'function')
      .map(([name]) => name)
      .sort();
    expect(builders).toEqual(Object.keys(BUILDERS).sort());
  });

  it('when the key builder makes a fleet-mode name then "Keys and streams" has a row for it', () => {
    const cluster = section('Redis Cluster key names');
    const listed = rowNames(section('Keys and streams').replace(cluster, ''));
    const missing = names(keySpace()).filter((n) => !listed.has(n));
    expect(missing).toEqual([]);
  });

  it('when a cluster-mode name differs from the fleet name then "Redis Cluster key names" lists it', () => {
    const text = section('Redis Cluster key names');
    const rows = rowNames(text);
    const spans = new Set(all(text, /`([^`]+)`/g));
    const fleet = names(keySpace());
    const clustered = names(keySpace({ cluster: true }));
    expect(clustered.some((n, i) => n !== fleet[i])).toBe(true);
    const missing = clustered.filter((n, i) => (n === fleet[i] ? !spans.has(n) : !rows.has(n)));
    expect(missing).toEqual([]);
  });

  it('when the consumer groups are named then the document names both', () => {
    const text = section('Consumer groups');
    expect(text).toContain('`governor`');
    expect(text).toContain('`p33`');
  });
});

// ---------------------------------------------------------------- result errors

/** Literal errors and `family:` prefixes apply's services build (src/services/apply). */
function applyErrors(): { literal: Set<string>; prefixes: Set<string> } {
  const dir = `${ROOT}src/services/apply/`;
  const text = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(`${dir}${f}`, 'utf8'))
    .join('\n');
  const literal = new Set([
    ...all(text, /outcome\(\s*'[A-Z]+',\s*'([a-z0-9_]+)'/g),
    ...all(text, /failed\(\s*[\w.]+,\s*'([a-z0-9_]+)'/g),
    ...all(text, /error:\s*'([a-z0-9_]+)'/g),
    ...all(text, /error:[^\n]*\?\?\s*'([a-z0-9_]+)'/g),
  ]);
  const prefixes = new Set([
    ...all(text, /outcome\(\s*'[A-Z]+',\s*`([a-z0-9_:]+)\$\{/g),
    ...all(text, /failed\(\s*[\w.]+,\s*`([a-z0-9_:]+)\$\{/g),
    ...all(text, /error:[^\n]*`([a-z0-9_:]+)\$\{/g),
  ]);
  return { literal, prefixes };
}

/** The reasons decide() and markDuplicate() give a plan (src/domain/plan.ts). */
function planReasons(): { literal: Set<string>; prefixes: Set<string> } {
  const text = source('src/domain/plan.ts');
  const age = /\):\s*((?:'[a-z_]+'\s*\|\s*)+)null/.exec(text)?.[1] ?? '';
  return {
    literal: new Set([
      ...all(text, /plan\('(?:BLOCKED|SKIP|ERROR)',\s*\[(?:\.\.\.reasons,\s*)?'([a-z0-9_]+)'\]/g),
      ...all(text, /reasons\.push\('([a-z0-9_]+)'\)/g),
      ...all(text, /reasonCodes:\s*\[\.\.\.plan\.reasonCodes,\s*'([a-z0-9_]+)'\]/g),
      ...all(age, /'([a-z_]+)'/g),
    ]),
    prefixes: new Set(all(text, /return `([a-z0-9_]+)\$\{/g)),
  };
}

/** The permit wait's failure reasons (src/store/permit-chain.ts) for the default pair and for three. */
function waitReasons(): string[] {
  const literal = all(source('src/store/permit-chain.ts'), /fail\('([a-z0-9_]+)'/g);
  const pair = ['governor', 'p33'];
  return [
    ...literal,
    missingReason(pair, [-2, -2]),
    missingReason(pair, [-2, 5000]),
    missingReason(pair, [5000, -2]),
    missingReason([...pair, 'desk'], [-2, -2, -2]),
  ];
}

describe('PROTOCOL.md result errors', () => {
  const listed = rowNames(section('Result errors'));
  const hasPrefix = (p: string) => [...listed].some((n) => n.startsWith(p) && n.length > p.length);

  it('when the source is scanned then the scans still find what they look for', () => {
    const a = applyErrors();
    for (const e of [
      'missing_binance_credentials',
      'no_position',
      'order_status_unknown',
      'already_executed',
    ])
      expect(a.literal).toContain(e);
    for (const p of [
      'permit_timeout_or_missing:',
      'exchange_read_failed:',
      'order_rejected:',
      'stop_rejected:',
    ])
      expect(a.prefixes).toContain(p);
    const plan = planReasons();
    for (const r of ['kill_switch_active', 'invalid_kill_score', 'stale_proposal', 'duplicate_plan'])
      expect(plan.literal).toContain(r);
    expect(plan.literal.size).toBeGreaterThanOrEqual(13);
    expect(plan.prefixes).toContain('unknown_action_');
    expect(waitReasons()).toEqual(
      expect.arrayContaining(['consumed_elsewhere', 'missing_both', 'missing_all']),
    );
  });

  it('when apply publishes a literal error then "Result errors" has a row for it', () => {
    const missing = [...applyErrors().literal].filter((e) => !listed.has(e));
    expect(missing).toEqual([]);
  });

  it('when apply builds an error from a family prefix then "Result errors" has a row for the family', () => {
    const missing = [...applyErrors().prefixes].filter((p) => !hasPrefix(p));
    expect(missing).toEqual([]);
  });

  it('when a closed set of refusals becomes a result error then "Result errors" lists every member', () => {
    const sets = [...PERMIT_REFUSALS, ...SIGNATURE_REASONS, ...STOP_PRICE_REASONS];
    const missing = sets.filter((e) => !listed.has(e));
    expect(missing).toEqual([]);
  });

  it('when a plan is not EXECUTE then each of its reasons is listed as a result error', () => {
    const plan = planReasons();
    const missing = [
      ...[...plan.literal].filter((r) => !listed.has(r)),
      ...[...plan.prefixes].filter((p) => !hasPrefix(p)),
    ];
    expect(missing).toEqual([]);
  });

  it('when the permit wait fails then "Result errors" lists permit_timeout_or_missing:<reason>', () => {
    const missing = waitReasons()
      .map((r) => `permit_timeout_or_missing:${r}`)
      .filter((e) => !listed.has(e));
    expect(missing).toEqual([]);
  });
});

// ---------------------------------------------------------------- authority reasons

describe('PROTOCOL.md authority reasons', () => {
  it('when the governor blocks then "Governor block reasons" lists the reason', () => {
    const reasons = unionLiterals('src/domain/governor/gates.ts', 'GovernorBlockReason');
    expect(reasons.length).toBeGreaterThanOrEqual(7);
    const listed = rowNames(section('Governor block reasons'));
    expect(reasons.filter((r) => !listed.has(r))).toEqual([]);
    const disarm = unionLiterals('src/services/governor/auto-disarm.ts', 'DisarmReason');
    const text = section('Governor block reasons');
    expect(disarm.filter((r) => !text.includes(`\`${r}\``))).toEqual([]);
  });

  it('when P3.3 denies then "P3.3 deny reasons" lists the reason', () => {
    const reasons = unionLiterals('src/domain/position/checks.ts', 'P33DenyReason');
    expect(reasons.length).toBeGreaterThanOrEqual(13);
    const listed = rowNames(section('P3.3 deny reasons'));
    expect(reasons.filter((r) => !listed.has(r))).toEqual([]);
  });

  it('when an authority refuses a plan entry then "Plan-entry rejection reasons" lists the reason', () => {
    const parsed = all(source('src/domain/governor/plan-input.ts'), /reason: '([a-z0-9_]+)'/g);
    expect(parsed.length).toBeGreaterThanOrEqual(9);
    const reasons = [...parsed, ...PLAN_SIGNATURE_REASONS];
    const listed = rowNames(section('Plan-entry rejection reasons'));
    expect(reasons.filter((r) => !listed.has(r))).toEqual([]);
  });
});

// ---------------------------------------------------------------- metrics

/** Every metric the services register, `name{label,...}` as the document writes it. */
async function registered(): Promise<string[]> {
  const registry = new Registry();
  promSink(createApplyMetrics(registry), ['BTCUSDT']);
  createGovernorMetrics(registry);
  createP33Metrics(registry);
  createStreamMetrics(registry, { groups: async () => [] }, ['quantum:stream:apply.plan']);
  createExchangeMetrics(registry, { usageThisMinute: () => ({ usedWeight1m: 0, orderCount1m: 0 }) });
  createUserStreamMetrics(registry);
  const out: string[] = [];
  for (const m of await registry.getMetricsAsJSON()) {
    const metric = registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] };
    const labels = metric.labelNames ?? [];
    out.push(labels.length > 0 ? `${m.name}{${labels.join(',')}}` : m.name);
  }
  return out;
}

describe('PROTOCOL.md metrics', () => {
  it('when a service registers a metric then "Metrics" has a row for it with its labels', async () => {
    const metrics = await registered();
    expect(metrics.length).toBeGreaterThanOrEqual(30);
    expect(metrics).toContain('quantum_apply_plan_total{symbol,decision}');
    const listed = rowNames(section('Metrics'));
    expect(metrics.filter((m) => !listed.has(m))).toEqual([]);
  });
});
