/**
 * The whole fleet as operators run it, hardened: apply, governor and position brain through the
 * CLI, each as its own ACL user (password in REDIS_URL), authorities signing, apply requiring
 * signatures, against a private redis-server and the paper exchange, with the history recorder
 * following them as its own ACL user. Then every output they
 * produced (logs, stdout, stderr, /metrics, status, explain, check-config, failed starts) is
 * searched for every secret, raw and URL-encoded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startPaperExchange, type PaperExchange } from '../../src/exchange/paper/index.js';
import { aclSetUserArgs, type AclService } from '../../src/ops/redis-acl.js';
import type { RedisStore } from '../../src/store/redis/redis-store.js';
import { skipRedis, usePrivateRedis } from '../helpers/redis-server.js';
import { planIdFor, proposal } from '../services/apply/harness.js';
import { until } from '../helpers/wait.js';
import { redisStoreOn } from '../helpers/redis-store.js';

const SECRETS = {
  binanceKey: 'BKEY-4f1c9e7a2b6d8e0f1a3c5e7b',
  binanceSecret: 'BSEC-9a8b7c6d5e4f3a2b1c0d9e8f',
  govSecret: 'gov-permit-secret-7Qm2Lp9Xr4Tz8Wv1Ks6',
  govPrevious: 'gov-permit-previous-3Hn5Bc8Jd2Fg7Kq0Ze',
  p33Secret: 'p33-permit-secret-6Yt1Ru4Ei7Ow0Pq3As9',
  p33Previous: 'p33-permit-previous-2Df5Gh8Jk1Lz4Xc7Vb',
  planSecret: 'plan-entry-secret-5Wc8Nb2Mv6Xz9Lk3Jh4',
  planPrevious: 'plan-entry-previous-8Tr3Ye6Ui9Op2As5Df',
  shortPermitSecret: 'short-secret-Nm3Qw',
  wrongRedisPw: 'wrong pw/with@chars:0x77',
};
const PASSWORDS: Record<AclService, string> = {
  apply: 'apply pw/with@odd:chars?1',
  governor: 'gov#pw%with&odd=chars 2',
  p33: 'p33+pw;with,odd:chars@3',
  inspect: 'insp!pw/with$odd*chars 4',
  recorder: 'rec&pw=with/odd@chars 5',
};
const ALL_SECRETS = [...Object.values(SECRETS), ...Object.values(PASSWORDS)];

interface Run {
  done: Promise<number>;
  stop(): void;
  text(): string;
  lines(): Record<string, unknown>[];
}

function run(args: string[], env: Record<string, string>): Run {
  let release: (r: string) => void = () => {};
  const stopped = new Promise<string>((r) => (release = r));
  const out: string[] = [];
  const logs: string[] = [];
  const done = main(['node', 'quantum-apply', ...args], {
    env,
    stdout: (t) => void out.push(t),
    stderr: (t) => void out.push(t),
    waitForStop: () => stopped,
    logDestination: { write: (s: string) => void logs.push(s) },
    opsHost: '127.0.0.1',
  });
  return {
    done,
    stop: () => release('test'),
    text: () => [...out, ...logs].join('\n'),
    lines: () => logs.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe.skipIf(skipRedis)(
  'secrets never leave the fleet (signed permits, ACL users, paper exchange)',
  () => {
    const server = usePrivateRedis({ notifyKeyspaceEvents: 'K$hgx' });
    let paper: PaperExchange;
    let admin: RedisStore;
    let prefix: string;
    const outputs: string[] = [];
    const urlFor = (user: AclService, pw = PASSWORDS[user]) =>
      `redis://${user}:${encodeURIComponent(pw)}@127.0.0.1:${server.port}/0`;
    const envFor = (user: AclService): Record<string, string> => ({
      REDIS_URL: urlFor(user),
      REDIS_KEY_PREFIX: prefix,
      APPLY_MODE: 'testnet',
      APPLY_ALLOWLIST: 'BTCUSDT,SOLUSDT,ETHUSDT',
      APPLY_POLL_SEC: '0.1',
      APPLY_PERMIT_WAIT_MS: '4000',
      APPLY_PERMIT_STEP_MS: '20',
      APPLY_REQUIRE_SIGNED_PERMITS: 'true',
      PERMIT_SECRET_GOVERNOR: SECRETS.govSecret,
      PERMIT_SECRET_GOVERNOR_PREVIOUS: SECRETS.govPrevious,
      PERMIT_SECRET_P33: SECRETS.p33Secret,
      PERMIT_SECRET_P33_PREVIOUS: SECRETS.p33Previous,
      // Signed plan entries: apply signs, both authorities refuse unsigned entries.
      PLAN_SECRET_APPLY: SECRETS.planSecret,
      PLAN_SECRET_APPLY_PREVIOUS: SECRETS.planPrevious,
      GOV_REQUIRE_SIGNED_PLANS: 'true',
      P33_REQUIRE_SIGNED_PLANS: 'true',
      BINANCE_FUTURES_BASE_URL: paper.url,
      BINANCE_TESTNET_API_KEY: SECRETS.binanceKey,
      BINANCE_TESTNET_API_SECRET: SECRETS.binanceSecret,
      APPLY_METRICS_PORT: '0',
      METRICS_PORT: '0',
      P33_METRICS_PORT: '0',
      P33_POLL_SEC: '0.2',
      LOG_LEVEL: 'debug',
    });

    beforeAll(async () => {
      prefix = server.prefix();
      const root = new Redis(server.url);
      for (const s of Object.keys(PASSWORDS) as AclService[]) {
        await root.call('ACL', 'SETUSER', ...aclSetUserArgs(s, PASSWORDS[s], s, { prefix }));
      }
      root.disconnect();
      paper = await startPaperExchange({
        host: '127.0.0.1',
        port: 0,
        apiKey: SECRETS.binanceKey,
        apiSecret: SECRETS.binanceSecret,
        positions: { SOLUSDT: 7, BTCUSDT: -0.015, ETHUSDT: 0.4 },
      });
      admin = await redisStoreOn(server, prefix);
    });
    afterAll(async () => {
      await admin?.close();
      await paper?.close();
    });

    it('when the fleet runs hardened then signed plans execute, forged permits are refused, and no output holds a secret', async () => {
      const k = admin.keys;
      const dir = mkdtempSync(join(tmpdir(), 'qa-fleet-history-'));
      const historyUrl = `sqlite:${join(dir, 'history.db')}`;
      const procs = [run(['governor'], envFor('governor')), run(['position-brain'], envFor('p33'))];
      const apply = run(['apply'], envFor('apply'));
      procs.push(apply);
      const recorder = run(['recorder'], {
        ...envFor('recorder'),
        HISTORY_URL: historyUrl,
        HISTORY_METRICS_PORT: '0',
      });
      procs.push(recorder);
      const opsPorts: number[] = [];
      try {
        for (const [p, name] of [
          [procs[0]!, 'governor'],
          [procs[1]!, 'position-brain'],
          [apply, 'apply'],
        ] as const) {
          const started = await until(async () => p.lines().find((l) => l.msg === `${name} started`));
          opsPorts.push(started.opsPort as number);
        }
        await until(async () => recorder.lines().find((l) => l.msg === 'history recorder started'));
        await until(async () => (await admin.hgetall(k.positionSnapshot('SOLUSDT'))).position_amt);
        // Both authorities' groups (the recorder has its own, `history`).
        await until(async () => {
          const names = (await admin.groups(k.planStream())).map((g) => g.name);
          return names.includes('governor') && names.includes('p33');
        });

        // A plan decided by our signing authorities: executes under every ACL user.
        const close = proposal('FULL_CLOSE_PROPOSED', '0.3');
        const closeId = planIdFor('SOLUSDT', close);
        await admin.hset(k.proposal('SOLUSDT'), close);
        const done = await until(async () =>
          (await admin.xrange(k.resultStream(), '-', '+')).find((r) => r.fields.plan_id === closeId),
        );
        expect(done.fields).toMatchObject({ decision: 'EXECUTE', executed: 'True', error: '' });
        // Both authorities require signed plan entries: the one they granted carries apply's sig.
        const entry = (await admin.xrange(k.planStream(), '-', '+')).find(
          (e) => e.fields.plan_id === closeId,
        );
        expect(entry?.fields.sig).toMatch(/^v1:[0-9a-f]{8}:[0-9a-f]{64}$/);
        expect(JSON.parse((await admin.get(k.governorPermit(closeId))) ?? 'null')).toBeNull();
        expect(paper.state.positions.get('SOLUSDT')).toBe('0');

        // A Redis writer without secrets pre-empts the authorities with unsigned permits.
        const forged = proposal('PARTIAL_50', '0.2');
        const forgedId = planIdFor('BTCUSDT', forged);
        const unsigned = (o: object) =>
          JSON.stringify({ symbol: 'BTCUSDT', created_at: Date.now() / 1000, ...o });
        await admin.set(k.governorPermit(forgedId), unsigned({ granted: true, decision: 'EXECUTE' }), {
          ttlSec: 60,
        });
        await admin.set(k.p33Permit(forgedId), unsigned({ allow: true, safe_close_qty: 0.015 }), {
          ttlSec: 60,
        });
        await admin.hset(k.proposal('BTCUSDT'), forged);
        const refused = await until(async () =>
          (await admin.xrange(k.resultStream(), '-', '+')).find((r) => r.fields.plan_id === forgedId),
        );
        expect(refused.fields).toMatchObject({
          decision: 'BLOCKED',
          executed: 'False',
          error: 'permit_unsigned',
        });
        expect(paper.state.positions.get('BTCUSDT')).toBe('-0.015');

        const metrics = await Promise.all(
          opsPorts.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()),
        );
        expect(metrics[2]).toMatch(/quantum_apply_permit_rejected_total\{reason="permit_unsigned"\} 1/);
        // The governor's stream gauges read the plan stream's groups (XINFO GROUPS) as its user.
        expect(metrics[0]).toMatch(/quantum_stream_group_lag\{[^}]*group="p33"[^}]*\} \d+/);
        expect(metrics[0]).not.toMatch(/quantum_stream_metrics_read_failures_total\{/);
        outputs.push(...metrics);

        // Operator tools under the read-only user, and a config dump with every secret set.
        const inspectEnv = { ...envFor('apply'), REDIS_URL: urlFor('inspect') };
        for (const args of [
          ['status'],
          ['status', '--json'],
          ['explain', closeId],
          ['explain', forgedId, '--json'],
        ]) {
          const r = run(args, inspectEnv);
          expect(await r.done, `${args.join(' ')}: ${r.text()}`).toBe(0);
          outputs.push(r.text());
        }
        // The recorder, as its own user, recorded both plans and their results.
        const recorded = await until(async () => {
          const h = run(['history', '--json'], { ...envFor('recorder'), HISTORY_URL: historyUrl });
          if ((await h.done) !== 0) return null;
          const text = h.text();
          return text.includes(closeId) && text.includes(forgedId) && text.includes('permit_unsigned')
            ? text
            : null;
        });
        outputs.push(recorded);
        expect(recorder.text()).not.toMatch(/NOPERM/);
        const check = run(['check-config'], envFor('apply'));
        expect(await check.done).toBe(0);
        outputs.push(check.text());
        expect(check.text()).toContain('<redacted>');
      } finally {
        for (const p of procs) p.stop();
        expect(await Promise.all(procs.map((p) => p.done))).toEqual([0, 0, 0, 0]);
        for (const p of procs) outputs.push(p.text());
        rmSync(dir, { recursive: true, force: true });
      }

      // Failures print what went wrong, never the credential involved.
      const wrongPw = run(['apply'], {
        ...envFor('apply'),
        REDIS_URL: urlFor('apply', SECRETS.wrongRedisPw),
      });
      expect(await wrongPw.done).toBe(1);
      const badSecret = run(['governor'], {
        ...envFor('governor'),
        PERMIT_SECRET_GOVERNOR: SECRETS.shortPermitSecret,
      });
      expect(await badSecret.done).toBe(2);
      expect(badSecret.text()).toContain('PERMIT_SECRET_GOVERNOR');
      const badStatus = run(['status'], {
        ...envFor('apply'),
        REDIS_URL: urlFor('inspect', SECRETS.wrongRedisPw),
      });
      expect(await badStatus.done).not.toBe(0);
      outputs.push(wrongPw.text(), badSecret.text(), badStatus.text());

      const all = outputs.join('\n');
      expect(all).toContain(closeIdOf(all)); // the search ran over real output
      for (const s of ALL_SECRETS) {
        expect(all.includes(s), `raw secret ${s.slice(0, 6)}…`).toBe(false);
        expect(all.includes(encodeURIComponent(s)), `URL-encoded secret ${s.slice(0, 6)}…`).toBe(false);
      }
    });
  },
);

/** Any plan id the outputs mention (they must mention the plans they handled). */
function closeIdOf(all: string): string {
  const m = /plan=([0-9a-f]{16})/.exec(all);
  if (!m) throw new Error('no plan id in the outputs: the secret search would prove nothing');
  return m[1]!;
}
