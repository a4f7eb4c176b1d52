import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  canaryEntryFields,
  canaryIdProblem,
  canaryPlanId,
  canaryRequestFields,
  isCanaryPlanId,
  judgeCanary,
  parseCanaryRequest,
} from '../../src/domain/canary.js';
import type { CanaryDeps } from '../../src/services/apply/canary.js';
import type { CanaryRequestDeps } from '../../src/services/apply/canary-requests.js';
import { parseAuthorityPlan } from '../../src/domain/governor/plan-input.js';
import { PermitKey } from '../../src/domain/permit-signing.js';
import { validatePermits } from '../../src/domain/permits.js';
import { decide, PLAN_ID_PATTERN } from '../../src/domain/plan.js';
import { signPlanFields, verifyPlanSignature } from '../../src/domain/plan-signing.js';
import { parseProposal } from '../../src/domain/proposal.js';
import { parsePyFloat } from '../../src/domain/pyfloat.js';
import { PLAN_ENTRY_FIELDS } from '../services/apply/harness.js';

const ID = canaryPlanId('00112233445566ff');
const fields = canaryEntryFields({
  planId: ID,
  symbol: 'BTCUSDT',
  action: 'PARTIAL_50',
  nowSec: 1769904003.7,
});
const govCanary = (o: Record<string, unknown> = {}) =>
  JSON.stringify({
    granted: true,
    symbol: 'BTCUSDT',
    decision: 'CANARY',
    computed_qty: 0.25,
    computed_notional: 15000,
    created_at: 1769904003.1,
    consumed: false,
    canary: { gates: ['kill_score', 'hourly', 'burst', 'daily'] },
    ...o,
  });
const p33Allow = (o: Record<string, unknown> = {}) =>
  JSON.stringify({
    allow: true,
    symbol: 'BTCUSDT',
    safe_close_qty: 0.25,
    exchange_position_amt: 0.5,
    ledger_amt: 0.5,
    created_at: 1769904003.2,
    reason: 'sanity_checks_passed',
    canary: true,
    ...o,
  });

describe('canary plans', () => {
  it('when an id is made then it is canary-<16 hex> and never a real plan id', () => {
    expect(ID).toBe('canary-00112233445566ff');
    expect(isCanaryPlanId(ID)).toBe(true);
    expect(PLAN_ID_PATTERN.test(ID)).toBe(false);
    expect(isCanaryPlanId('00112233445566ff')).toBe(false);
    expect(() => canaryPlanId('XYZ')).toThrow(/16 lower-case hex/);
  });

  it("when the entry is built then it has the fleet's fields in order, decision CANARY and a kill score float() reads", () => {
    expect(Object.keys(fields)).toEqual(PLAN_ENTRY_FIELDS);
    expect(fields).toMatchObject({
      decision: 'CANARY',
      reason_codes: 'canary',
      steps: '[{"step": "CLOSE_PARTIAL_50", "type": "market_reduce_only", "side": "close", "pct": 50.0}]',
      timestamp: '1769904003',
    });
    expect(parsePyFloat(fields.kill_score!)).toBe(0);
    const parsed = parseAuthorityPlan(fields);
    expect(parsed.ok && parsed.plan).toMatchObject({ planId: ID, decision: 'CANARY', action: 'PARTIAL_50' });
  });

  it('when decision and id disagree then the authorities refuse the entry', () => {
    expect(canaryIdProblem('CANARY', ID)).toBeNull();
    expect(canaryIdProblem('EXECUTE', '00112233445566ff')).toBeNull();
    expect(parseAuthorityPlan({ ...fields, decision: 'EXECUTE' })).toEqual({
      ok: false,
      reason: 'canary_plan_id_reserved',
    });
    expect(parseAuthorityPlan({ ...fields, plan_id: '00112233445566ff' })).toEqual({
      ok: false,
      reason: 'canary_plan_id_required',
    });
  });

  it('when a signed canary entry is re-published as EXECUTE then its signature fails plan_tampered', () => {
    const key = new PermitKey('k'.repeat(40));
    const signed = signPlanFields(fields, key);
    expect(verifyPlanSignature(signed, [key]).ok).toBe(true);
    const replayed = { ...signed, decision: 'EXECUTE' };
    expect(verifyPlanSignature(replayed, [key])).toMatchObject({ ok: false, reason: 'plan_tampered' });
  });

  it("when a canary's governor permit reached the order path then it is refused governor_permit_not_execute", () => {
    const r = parseProposal('BTCUSDT', {
      harvest_action: 'PARTIAL_50',
      kill_score: '0.2',
      computed_at_utc: '2026-01-25T00:00:00Z',
    });
    if (!r.ok) throw new Error(r.reason);
    const plan = decide(r.proposal, {
      killSwitch: false,
      allowlist: new Set(['BTCUSDT']),
      kBlockCritical: 0.8,
      kBlockWarning: 0.6,
      nowSec: Date.UTC(2026, 0, 25) / 1000 + 1,
      maxProposalAgeSec: 300,
    });
    const v = validatePermits({
      plan,
      governorBody: govCanary(),
      p33Body: p33Allow(),
      position: '0.5',
      stepSize: '0.001',
    });
    expect(v).toMatchObject({ ok: false, error: 'governor_permit_not_execute' });
  });

  it('when the consumed bodies are judged then only a CANARY grant and an allow of the symbol pass', () => {
    expect(judgeCanary('BTCUSDT', govCanary(), p33Allow())).toEqual({
      pass: true,
      safeCloseQty: 0.25,
      gates: ['kill_score', 'hourly', 'burst', 'daily'],
      exchangePositionAmt: 0.5,
    });
    const reason = (g: string, p: string) => {
      const v = judgeCanary('BTCUSDT', g, p);
      return v.pass ? 'pass' : v.reason;
    };
    expect(reason(govCanary({ decision: 'EXECUTE' }), p33Allow())).toBe('governor_permit_not_canary');
    expect(reason(govCanary({ granted: false }), p33Allow())).toBe('governor_permit_not_granted');
    expect(reason('nope', p33Allow())).toBe('invalid_governor_permit_format');
    expect(reason(govCanary({ symbol: 'ETHUSDT' }), p33Allow())).toBe('permit_symbol_mismatch');
    expect(reason(govCanary(), p33Allow({ safe_close_qty: 0 }))).toBe('invalid_safe_close_qty');
    const deny = JSON.stringify({
      allow: false,
      symbol: 'BTCUSDT',
      reason: 'cooldown_in_flight',
      context: {},
    });
    expect(judgeCanary('BTCUSDT', govCanary(), deny)).toMatchObject({
      pass: false,
      reason: 'p33_permit_denied',
      p33Reason: 'cooldown_in_flight',
    });
  });

  it.each(['canary.ts', 'canary-requests.ts'])(
    "when apply's canary module %s is read then it imports nothing of the exchange or the order path",
    (file) => {
      const src = readFileSync(new URL(`../../src/services/apply/${file}`, import.meta.url), 'utf8');
      const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      expect(imports.filter((i) => /exchange|orders|execute|outcome|prior-order/.test(i))).toEqual([]);
    },
  );

  it("when the running apply's canary handler is typed then its dependencies hold no exchange", () => {
    expectTypeOf<CanaryDeps>().not.toHaveProperty('exchange');
    expectTypeOf<CanaryRequestDeps>().not.toHaveProperty('exchange');
    expectTypeOf<keyof CanaryRequestDeps>().toEqualTypeOf<'store' | 'clock' | 'logger' | 'count'>();
  });

  it('when a canary request is parsed then a bad field is named and a valid id kept for the answer', () => {
    const request = {
      requestId: '0011223344556677',
      symbol: 'BTCUSDT',
      action: 'PARTIAL_50',
      count: 2,
      host: 'h',
      pid: '9',
    } as const;
    const ok = canaryRequestFields({ ...request, atMs: 1 });
    expect(ok.at).toBe('1');
    expect(parseCanaryRequest(ok)).toEqual({ ok: true, request });
    expect(parseCanaryRequest({ ...ok, count: '0' })).toEqual({
      ok: false,
      reason: 'bad_request_count',
      requestId: '0011223344556677',
    });
    expect(parseCanaryRequest({ ...ok, action: 'UPDATE_SL' })).toMatchObject({
      reason: 'bad_request_action',
    });
    expect(parseCanaryRequest({ ...ok, count: '1e3' })).toMatchObject({ reason: 'bad_request_count' });
    expect(parseCanaryRequest({ ...ok, request_id: 'canary-0011223344556677' })).toEqual({
      ok: false,
      reason: 'bad_request_request_id',
      requestId: null,
    });
  });
});
