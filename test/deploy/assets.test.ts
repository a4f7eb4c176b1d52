/**
 * Deployment assets stay consistent with the code and the contract: unit hardening, env examples
 * against src/ops/config (names and defaults), alert and dashboard metric names against the
 * contract list and src/ops/metrics. promtool and systemd-analyze run when they are installed
 * (with REQUIRE_PROMTOOL=1, as in CI, a missing promtool fails instead of skipping).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  loadPaperConfig,
  type Env,
} from '../../src/ops/config.js';
import { loadRecorderConfig } from '../../src/ops/config/recorder.js';
import {
  createApplyMetrics,
  createCanaryMetrics,
  createExchangeMetrics,
  createHistoryMetrics,
  createGovernorMetrics,
  createP33Metrics,
  createStreamMetrics,
  createRegistry,
} from '../../src/ops/metrics.js';
import { variablesReadBy } from '../../src/ops/config/per-service.js';
import { promSink } from '../../src/services/apply/metrics.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const read = (rel: string) => readFileSync(join(DEPLOY, rel), 'utf8');

// ---------------------------------------------------------------- systemd units

/** `node` lists the node flags ExecStart passes (V8 flags node refuses in NODE_OPTIONS). */
const UNITS: Record<string, { cmd: string; env: string; node?: string }> = {
  'quantum-apply-apply.service': { cmd: 'apply', env: 'apply' },
  'quantum-apply-governor.service': { cmd: 'governor', env: 'governor' },
  'quantum-apply-position-brain.service': { cmd: 'position-brain', env: 'position-brain' },
  'quantum-apply-all.service': { cmd: 'all', env: 'all', node: '--optimize-for-size' },
  'quantum-apply-paper-exchange.service': { cmd: 'paper-exchange', env: 'paper-exchange' },
  'quantum-apply-recorder.service': { cmd: 'recorder', env: 'recorder' },
};

const HARDENING = [
  'User=quantum',
  'NoNewPrivileges=yes',
  'ProtectSystem=strict',
  'ProtectHome=yes',
  'PrivateTmp=yes',
  'PrivateDevices=yes',
  'ProtectKernelTunables=yes',
  'ProtectKernelModules=yes',
  'ProtectControlGroups=yes',
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
  'LockPersonality=yes',
  'MemoryDenyWriteExecute=no',
  'Restart=on-failure',
  'KillSignal=SIGTERM',
  'After=network-online.target redis-server.service',
  'Wants=network-online.target',
];

/** section -> key -> values, ignoring comments. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      out.set(section, out.get(section) ?? new Map());
      continue;
    }
    const eq = line.indexOf('=');
    const sec = out.get(section)!;
    const key = line.slice(0, eq);
    sec.set(key, [...(sec.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const one = (u: Map<string, Map<string, string[]>>, section: string, key: string) =>
  u.get(section)?.get(key)?.at(-1);

/** The canary's oneshot service and its timer (off until enabled): hardened like the services, never restarted. */
const CANARY_UNIT = 'quantum-apply-canary.service';
const CANARY_TIMER = 'quantum-apply-canary.timer';

describe('systemd units', () => {
  it('when the unit directory is listed then it holds exactly the expected units', () => {
    const files = readdirSync(join(DEPLOY, 'systemd')).filter((f) => f.endsWith('.service'));
    expect(files.sort()).toEqual([...Object.keys(UNITS), CANARY_UNIT].sort());
    const timers = readdirSync(join(DEPLOY, 'systemd')).filter((f) => f.endsWith('.timer'));
    expect(timers).toEqual([CANARY_TIMER]);
  });

  it('when the canary unit and timer are read then the unit is a hardened oneshot canary that writes its gauges, never restarted', () => {
    const text = read(`systemd/${CANARY_UNIT}`);
    const lines = new Set(text.split('\n').map((l) => l.trim()));
    for (const required of HARDENING.filter((h) => !h.startsWith('Restart=')))
      expect(lines, `${CANARY_UNIT}: ${required}`).toContain(required);
    const u = parseUnit(text);
    expect(one(u, 'Service', 'Type')).toBe('oneshot');
    expect(one(u, 'Service', 'Restart')).toBeUndefined();
    expect(one(u, 'Service', 'EnvironmentFile')).toBe('/etc/quantum-apply/apply.env');
    const file = '/var/lib/node_exporter/textfile_collector/quantum_canary.prom';
    expect(one(u, 'Service', 'ExecStart')).toBe(
      `/usr/bin/env node /opt/quantum-apply/bin/quantum-apply.js canary --metrics-file ${file}`,
    );
    expect(one(u, 'Service', 'ReadWritePaths')).toBe(file.slice(0, file.lastIndexOf('/')));
    expect(one(u, 'Service', 'UMask')).toBe('0022');
    const t = parseUnit(read(`systemd/${CANARY_TIMER}`));
    expect(one(t, 'Timer', 'Unit')).toBe(CANARY_UNIT);
    // Runs spaced wider than APPLY_CANARY_MIN_INTERVAL_SEC's default, or they are refused.
    expect(Number.parseInt(one(t, 'Timer', 'OnUnitActiveSec') ?? '', 10) * 60).toBeGreaterThan(60);
    expect(one(t, 'Install', 'WantedBy')).toBe('timers.target');
  });

  for (const [name, { cmd, env, node }] of Object.entries(UNITS)) {
    it(`when ${name} is read then it is hardened, restarts on failure and reads its env file`, () => {
      const text = read(`systemd/${name}`);
      const lines = new Set(text.split('\n').map((l) => l.trim()));
      for (const required of HARDENING) expect(lines, `${name}: ${required}`).toContain(required);
      const u = parseUnit(text);
      expect(one(u, 'Service', 'EnvironmentFile')).toBe(`/etc/quantum-apply/${env}.env`);
      expect(one(u, 'Service', 'ExecStart')).toBe(
        `/usr/bin/env node ${node ? `${node} ` : ''}/opt/quantum-apply/bin/quantum-apply.js ${cmd}`,
      );
      expect(Number(one(u, 'Service', 'RestartSec'))).toBeGreaterThan(0);
      expect(Number(one(u, 'Unit', 'StartLimitBurst'))).toBeGreaterThan(0);
      expect(Number(one(u, 'Unit', 'StartLimitIntervalSec'))).toBeGreaterThan(0);
      // In-flight plan: permit wait 1.2 s plus one order; 20 s covers it with room for the exchange.
      expect(Number(one(u, 'Service', 'TimeoutStopSec'))).toBeGreaterThanOrEqual(20);
      expect(text).toMatch(/#[^\n]*JIT[^\n]*\nMemoryDenyWriteExecute=no/);
    });
  }

  it('when a unit sets node flags then this node starts with them: ExecStart as arguments, NODE_OPTIONS from the environment', () => {
    // node exits 9 on a flag it does not know, or one it refuses in NODE_OPTIONS (V8 flags such as
    // --optimize-for-size are refused there: ExecStart must carry them).
    for (const name of Object.keys(UNITS)) {
      const u = parseUnit(read(`systemd/${name}`));
      const exec = (one(u, 'Service', 'ExecStart') ?? '').split(/\s+/);
      const flags = exec.slice(exec.indexOf('node') + 1).filter((w) => w.startsWith('-'));
      const env = Object.fromEntries(
        (u.get('Service')?.get('Environment') ?? []).map((e) =>
          e.replace(/^"|"$/g, '').split(/=(.*)/s).slice(0, 2),
        ),
      ) as Record<string, string>;
      const r = spawnSync(process.execPath, [...flags, '-e', '0'], {
        env: {
          PATH: process.env.PATH ?? '',
          ...(env.NODE_OPTIONS ? { NODE_OPTIONS: env.NODE_OPTIONS } : {}),
        },
        encoding: 'utf8',
      });
      expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 0, stderr: '' });
    }
  });

  it('when the all-in-one unit starts then systemd stops the three single units (and back)', () => {
    const all = parseUnit(read('systemd/quantum-apply-all.service'));
    const singles = ['apply', 'governor', 'position-brain'].map((s) => `quantum-apply-${s}.service`);
    expect(one(all, 'Unit', 'Conflicts')?.split(/\s+/).sort()).toEqual(singles.sort());
    for (const s of singles) {
      expect(one(parseUnit(read(`systemd/${s}`)), 'Unit', 'Conflicts')).toBe('quantum-apply-all.service');
    }
  });

  it('when a unit runs a CLI command then src/cli defines that command', () => {
    const cliDir = fileURLToPath(new URL('../../src/cli/commands/', import.meta.url));
    const source = readdirSync(cliDir)
      .map((f) => readFileSync(join(cliDir, f), 'utf8'))
      .join('\n');
    const defined = new Set([...source.matchAll(/\.command\('([a-z-]+)/g)].map((m) => m[1]));
    for (const { cmd } of Object.values(UNITS)) expect(defined, cmd).toContain(cmd);
    expect(defined).toContain('canary');
  });

  it('when the sysusers snippet is read then it creates the quantum system user', () => {
    expect(read('sysusers-quantum.conf')).toMatch(/^u quantum - /m);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!analyze)('when systemd-analyze verifies the units then it reports nothing about them', () => {
    const files = [...Object.keys(UNITS), CANARY_UNIT, CANARY_TIMER].map((f) => join(DEPLOY, 'systemd', f));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8' });
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('quantum-apply'));
    expect(ours).toEqual([]);
  });
});

// ---------------------------------------------------------------- env examples

/** The wire contract's environment names (PROTOCOL.md, README "Configuration"), plus the names they refer to. */
const CONTRACT_ENV = {
  apply: [
    'REDIS_HOST',
    'REDIS_PORT',
    'APPLY_MODE',
    'SYMBOLS',
    'APPLY_ALLOWLIST',
    'APPLY_POLL_SEC',
    'APPLY_DEDUPE_TTL_SEC',
    'K_BLOCK_CRITICAL',
    'K_BLOCK_WARNING',
    'APPLY_KILL_SWITCH',
    'APPLY_METRICS_PORT',
    'APPLY_PERMIT_WAIT_MS',
    'APPLY_PERMIT_STEP_MS',
    'APPLY_LOG_LEVEL',
    'BINANCE_TESTNET_API_KEY',
    'BINANCE_TESTNET_API_SECRET',
    'REDIS_URL',
    'BINANCE_FUTURES_BASE_URL',
  ],
  governor: [
    'GOV_KILL_SCORE_CRITICAL',
    'GOV_MAX_EXEC_PER_HOUR',
    'GOV_MAX_EXEC_PER_5MIN',
    'GOV_MAX_REDUCE_NOTIONAL_PER_DAY_USD',
    'GOV_MAX_REDUCE_QTY_PER_DAY',
    'GOV_AUTO_APPROVE',
    'METRICS_PORT',
    'REDIS_URL',
    'BINANCE_FUTURES_BASE_URL',
  ],
  'position-brain': [
    'P33_POLL_SEC',
    'P33_ALLOWLIST',
    'P33_STALE_THRESHOLD_SEC',
    'P33_QTY_TOLERANCE_PCT',
    'P33_COOLDOWN_SEC',
    'P33_PERMIT_TTL',
    'P33_METRICS_PORT',
    'REDIS_URL',
    'BINANCE_FUTURES_BASE_URL',
  ],
} as const;

type Loader = (env: Env) => unknown;
const LOADERS: Record<string, Loader[]> = {
  apply: [loadApplyConfig],
  governor: [loadGovernorConfig],
  'position-brain': [loadP33Config],
  all: [loadApplyConfig, loadGovernorConfig, loadP33Config],
  'paper-exchange': [loadPaperConfig],
  recorder: [loadRecorderConfig],
};

interface EnvExample {
  /** Every NAME=value line, commented or not. */
  values: Map<string, string>;
  /** Names that a comment line documents with "NAME:" or "NAME / NAME2:". */
  documented: Set<string>;
}

function parseEnvExample(text: string): EnvExample {
  const values = new Map<string, string>();
  const documented = new Set<string>();
  for (const line of text.split('\n')) {
    const v = /^#?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (v) {
      values.set(v[1]!, v[2]!);
      continue;
    }
    const d = /^# ([A-Z][A-Z0-9_]*(?: \/ [A-Z][A-Z0-9_]*)*):/.exec(line);
    if (d) for (const n of d[1]!.split(' / ')) documented.add(n);
  }
  return { values, documented };
}

describe('env examples', () => {
  const examples = Object.fromEntries(
    Object.keys(LOADERS).map((n) => [n, parseEnvExample(read(`env/${n}.env.example`))]),
  );

  it('when an example is read then every variable line has a comment naming it with its default', () => {
    for (const [name, ex] of Object.entries(examples)) {
      expect(
        [...ex.values.keys()].filter((v) => !ex.documented.has(v)),
        name,
      ).toEqual([]);
      expect(
        [...ex.documented].filter((v) => !ex.values.has(v)),
        name,
      ).toEqual([]);
    }
    for (const name of Object.keys(examples)) {
      const docs = read(`env/${name}.env.example`)
        .split(/\n(?=# [A-Z][A-Z0-9_]*[ :])/)
        .slice(1);
      for (const d of docs) expect(d, `${name}: ${d.split('\n')[0]}`).toMatch(/Default:/);
    }
  });

  it('when the contract lists a variable then the example of its service documents it', () => {
    for (const [service, names] of Object.entries(CONTRACT_ENV)) {
      for (const n of names) {
        expect(examples[service]!.values.has(n), `${service}: ${n}`).toBe(true);
        expect(examples.all!.values.has(n), `all: ${n}`).toBe(true);
      }
    }
  });

  for (const [name, loaders] of Object.entries(LOADERS)) {
    it(`when src/ops/config reads variables then ${name}.env.example documents exactly those`, () => {
      const read = new Set(loaders.flatMap((l) => variablesReadBy(l)));
      const documented = new Set(examples[name]!.values.keys());
      expect([...read].filter((n) => !documented.has(n)).sort(), 'read but undocumented').toEqual([]);
      expect([...documented].filter((n) => !read.has(n)).sort(), 'documented but never read').toEqual([]);
    });

    it(`when every default line of ${name}.env.example is uncommented then the config is the default`, () => {
      const env: Record<string, string> = {};
      for (const [k, v] of examples[name]!.values) if (v !== '') env[k] = v;
      expect(Object.keys(env).length).toBeGreaterThan(3);
      for (const load of loaders) expect(load(env)).toEqual(load({}));
    });
  }
});

// ---------------------------------------------------------------- metrics in alerts and dashboard

/** The contract's "Metrics names" plus ours (histograms listed by base name). */
const KNOWN_METRICS = [
  'quantum_apply_plan_total',
  'quantum_apply_execute_total',
  'quantum_apply_dedupe_hits_total',
  'quantum_apply_last_success_epoch',
  'quantum_govern_allow_total',
  'quantum_govern_block_total',
  'quantum_govern_disarm_total',
  'quantum_govern_fleet_disarm_failures_total',
  'quantum_govern_exec_count_hour',
  'quantum_govern_exec_count_5min',
  'p33_permit_allow_total',
  'p33_permit_deny_total',
  'p33_snapshot_age_seconds',
  'p33_ledger_position_amt',
  'p33_exchange_position_amt',
  'quantum_apply_permit_wait_seconds',
  'quantum_apply_proposal_to_order_seconds',
  'quantum_apply_consume_total',
  'quantum_apply_input_rejected_total',
  'quantum_apply_result_total',
  'quantum_apply_run_failures_total',
  'quantum_apply_permit_rejected_total',
  'quantum_apply_arm_state_unreadable',
  'quantum_apply_armed',
  'quantum_apply_arm_changed_timestamp_seconds',
  'quantum_apply_kill_switch_blocks_total',
  'quantum_apply_order_lookup_total',
  'quantum_apply_order_outcome_total',
  'quantum_apply_unresolved_orders',
  'quantum_govern_eval_seconds',
  'quantum_govern_input_rejected_total',
  'p33_eval_seconds',
  'p33_input_rejected_total',
  'p33_ledger_applied_total',
  'quantum_stream_group_lag',
  'quantum_stream_group_pending',
  'quantum_stream_metrics_read_failures_total',
  'quantum_exchange_used_weight_1m',
  'quantum_exchange_order_count_1m',
  'quantum_canary_passed',
  'quantum_canary_last_run_timestamp_seconds',
  'quantum_canary_authority_answered',
  'quantum_canary_apply_answered',
  'quantum_history_lag_seconds',
];
const HISTOGRAMS = new Set([
  'quantum_apply_permit_wait_seconds',
  'quantum_apply_proposal_to_order_seconds',
  'quantum_govern_eval_seconds',
  'p33_eval_seconds',
]);

/** A series name's metric: a histogram's _bucket/_sum/_count series name their histogram. */
function baseName(series: string): string {
  const base = series.replace(/_(bucket|sum|count)$/, '');
  return HISTOGRAMS.has(base) ? base : series;
}

function metricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/\b(?:quantum|p33)_[a-z0-9_]+/g)) names.add(baseName(m[0]));
  return names;
}

/** Every metric src/ops/metrics registers (the apply sink's own included), with its label names. */
async function registeredLabels(): Promise<Map<string, readonly string[]>> {
  const labels = new Map<string, readonly string[]>();
  const apply = createApplyMetrics(createRegistry());
  promSink(apply, ['BTCUSDT']);
  const streams = createStreamMetrics(createRegistry(), { groups: async () => [] }, []);
  const exchangeRegistry = createRegistry();
  createExchangeMetrics(exchangeRegistry, { usageThisMinute: () => ({ usedWeight1m: 0, orderCount1m: 0 }) });
  for (const m of [
    apply,
    createGovernorMetrics(createRegistry()),
    createP33Metrics(createRegistry()),
    createCanaryMetrics(createRegistry()),
    streams,
    { registry: exchangeRegistry },
    createHistoryMetrics(createRegistry(), { lag: async () => [] }),
  ]) {
    for (const { name } of (await m.registry.getMetricsAsJSON()) as { name: string }[]) {
      const metric = m.registry.getSingleMetric(name) as unknown as { labelNames?: readonly string[] };
      labels.set(name, metric.labelNames ?? []);
    }
  }
  return labels;
}

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string; datasource: { uid: string } }[];
}

describe('alerts and dashboard', () => {
  const alerts = read('prometheus/alerts.yml');
  const dashboard = JSON.parse(read('grafana/quantum-apply.json')) as {
    panels: Panel[];
    templating: { list: { name: string; type: string; query: unknown }[] };
  };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const blocks = alerts.split(/\n\s+- alert: /).slice(1);
  // Annotations quote reason strings (p33_permit_denied): only expressions name metrics.
  const alertExprs = blocks.map((b) => b.slice(b.indexOf('expr:'), b.indexOf('\n        for:')));

  it('when an alert is declared then it has expr, for, severity, summary, description and runbook', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const e of alertExprs) expect(e).toMatch(/^expr: [\s\S]*\b(up|quantum_|p33_)/);
    for (const b of blocks) {
      const name = b.split('\n')[0];
      for (const key of ['expr:', 'for:', 'severity:', 'summary:', 'description:', 'runbook:']) {
        expect(b, `${name} ${key}`).toContain(key);
      }
      expect(b, `${name} severity`).toMatch(/severity: (critical|warning|info)\n/);
    }
  });

  it('when alerts and dashboard name a metric then it is a known metric', () => {
    const used = new Set([...metricNames(alertExprs.join('\n')), ...metricNames(exprs.join('\n'))]);
    expect([...used].filter((n) => !KNOWN_METRICS.includes(n))).toEqual([]);
    // and every known metric is shown somewhere
    expect(KNOWN_METRICS.filter((n) => !used.has(n))).toEqual([]);
  });

  it('when a metric is known then src/ops/metrics registers it', async () => {
    const registered = await registeredLabels();
    expect(KNOWN_METRICS.filter((n) => !registered.has(n))).toEqual([]);
  });

  it('when alerts and dashboard select a metric by a label then the metric has that label', async () => {
    const labels = await registeredLabels();
    const wrong: string[] = [];
    for (const expr of [...alertExprs, ...exprs]) {
      for (const sel of expr.matchAll(/\b((?:quantum|p33)_[a-z0-9_]+)\{([^}]*)\}/g)) {
        const base = baseName(sel[1]!);
        const allowed = [...(labels.get(base) ?? []), ...(sel[1] === `${base}_bucket` ? ['le'] : [])];
        for (const m of sel[2]!.matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)) {
          if (!allowed.includes(m[1]!)) wrong.push(`${sel[0]}: ${base} has no label ${m[1]}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('when the dashboard is imported then every query uses the datasource variable and rows exist', () => {
    const ds = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(['Apply', 'Governor', 'Position State Brain (P3.3)', 'Streams']);
    expect(exprs.length).toBeGreaterThanOrEqual(20);
    for (const p of dashboard.panels.filter((q) => q.type !== 'row')) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource.uid, p.title).toBe('${datasource}');
    }
  });

  // Without promtool this skips; with REQUIRE_PROMTOOL=1 (.ci/run, which fetches it) it fails instead.
  const promtool = process.env.PROMTOOL ?? 'promtool';
  const hasPromtool = spawnSync(promtool, ['--version'], { stdio: 'ignore' }).status === 0;
  const skipPromtool = !hasPromtool && process.env.REQUIRE_PROMTOOL !== '1';
  it.skipIf(skipPromtool)('when promtool checks and unit-tests the rules then both pass', () => {
    if (!hasPromtool) {
      throw new Error(
        `REQUIRE_PROMTOOL=1 but '${promtool}' does not run: install it or set PROMTOOL to its path`,
      );
    }
    for (const args of [
      ['check', 'rules', join(DEPLOY, 'prometheus/alerts.yml')],
      ['test', 'rules', join(DEPLOY, 'prometheus/alerts.test.yml')],
    ]) {
      const r = spawnSync(promtool, args, { encoding: 'utf8' });
      expect(r.status, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });
});
