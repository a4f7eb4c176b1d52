/** The verdict and timeline rules on hand-built traces (pure: no store). */
import { describe, expect, it } from 'vitest';
import { explainTrace } from '../../src/inspect/explain.js';
import { receiptBodies } from '../../src/inspect/facts.js';
import { renderExplainText } from '../../src/inspect/render.js';
import type { KeyRead, PlanTrace } from '../../src/inspect/trace.js';

const ID = 'abcdef0123456789';
const NOW = Date.parse('2026-01-25T03:00:00Z');
const absent = (key: string): KeyRead => ({ key, value: null, ttlMs: -2 });
const live = (key: string, value: string, ttlMs = 30_000): KeyRead => ({ key, value, ttlMs });
const opts = { permitWaitMs: 1200, mode: 'testnet' };

function trace(over: Partial<PlanTrace> = {}): PlanTrace {
  return {
    planId: ID,
    readAtMs: NOW,
    planEntries: [],
    resultEntries: [],
    decisions: [],
    events: [],
    canaryRequests: [],
    scanned: { plan: 0, result: 0, decisions: 0, events: 0, complete: true },
    dedupe: absent('d'),
    streamPublished: absent('sp'),
    resultPublished: absent('rp'),
    governorPermit: absent('g'),
    p33Permit: absent('p'),
    otherPermits: {},
    governorBlock: absent('b'),
    governorDecided: absent('gd'),
    p33Decided: absent('pd'),
    receipt: absent('r'),
    intent: {},
    intentTtlMs: -2,
    proposals: {},
    armState: {},
    ...over,
  };
}

const planEntry = (atMs: number, decision = 'EXECUTE', reasons = '') => ({
  id: `${atMs}-0`,
  fields: {
    plan_id: ID,
    symbol: 'ETHUSDT',
    action: 'FULL_CLOSE_PROPOSED',
    decision,
    reason_codes: reasons,
    steps: '[]',
    kill_score: '0.3',
  },
});
const resultEntry = (atMs: number, fields: Record<string, string>) => ({
  id: `${atMs}-0`,
  fields: {
    plan_id: ID,
    symbol: 'ETHUSDT',
    executed: 'False',
    would_execute: 'False',
    steps_results: '[]',
    error: '',
    ...fields,
  },
});

describe('explain verdicts', () => {
  it('when a dry run would have sent an order then the verdict is DRY RUN with the step details', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000)],
        resultEntries: [
          resultEntry(NOW - 4000, {
            decision: 'EXECUTE',
            would_execute: 'True',
            steps_results:
              '[{"step": "CLOSE_FULL", "status": "dry_run", "details": "would send reduceOnly MARKET BUY 0.5 ETHUSDT", "quantity": "0.5", "reduce_only": true}]',
          }),
        ],
      }),
      opts,
    );
    expect(x.verdict).toMatchObject({ kind: 'DRY_RUN' });
    expect(x.verdict.line).toBe(
      'DRY RUN: would send reduceOnly MARKET BUY 0.5 ETHUSDT (no order sent; mode was dry_run)',
    );
  });

  it('when the order status is unknown then the verdict names the intent state and client id', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000)],
        resultEntries: [
          resultEntry(NOW - 3000, {
            decision: 'ERROR',
            would_execute: 'True',
            error: 'order_status_unknown',
          }),
        ],
        intent: {
          symbol: 'ETHUSDT',
          side: 'BUY',
          quantity: '0.5',
          state: 'unknown',
          client_order_id: 'qa-x-1',
          at: String(NOW - 4000),
        },
      }),
      opts,
    );
    expect(x.verdict.line).toBe(
      'ERROR: order status unknown (intent state=unknown, client id qa-x-1): check the exchange; apply never resends',
    );
  });

  it('when the reconciler settled an order left unknown then the verdict says what it found', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000)],
        resultEntries: [
          resultEntry(NOW - 3000, {
            decision: 'ERROR',
            would_execute: 'True',
            error: 'order_status_unknown',
          }),
        ],
        intent: {
          symbol: 'ETHUSDT',
          state: 'filled',
          order_id: '77',
          executed_qty: '0.5',
          client_order_id: 'qa-x-1',
          resolved_by: 'reconciler',
        },
      }),
      opts,
    );
    expect(x.verdict.line).toBe(
      'ERROR: order status was unknown; the reconciler found it filled 0.5 (order 77) (client id qa-x-1); never resent',
    );
  });

  it('when the plan step was already on the exchange then the verdict says it was not sent again', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000)],
        resultEntries: [
          resultEntry(NOW - 3000, {
            decision: 'SKIP',
            error: 'already_executed',
            steps_results: JSON.stringify([
              {
                step: 'CLOSE_FULL',
                status: 'already_executed',
                details: 'order 9 FILLED, executed 0.5 found by its client order id; not sent again',
                order_id: '9',
              },
            ]),
          }),
        ],
      }),
      opts,
    );
    expect(x.verdict.line).toBe(
      'SKIP: already on the exchange: order 9 FILLED, executed 0.5 found by its client order id; not sent again (an earlier run sent it; its Redis records are gone)',
    );
  });

  it('when the arm state blocked the plan then the verdict says who disarmed and whether it still is', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000, 'BLOCKED', 'kill_switch_active')],
        resultEntries: [resultEntry(NOW - 4999, { decision: 'BLOCKED', error: 'kill_switch_active' })],
        armState: { armed: 'false', reason: 'burst_limit_breach', by: 'governor', at: String(NOW - 60_000) },
      }),
      opts,
    );
    expect(x.verdict.line).toBe(
      'BLOCKED: kill switch / disarmed when it ran (kill_switch_active; disarmed now by governor: burst_limit_breach)',
    );
  });

  it('when a granted governor permit expired unused then the timeout verdict says so', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 90_000)],
        resultEntries: [
          resultEntry(NOW - 88_000, { decision: 'BLOCKED', error: 'permit_timeout_or_missing:missing_both' }),
        ],
        governorDecided: live('gd', 'granted', 3_500_000),
        p33Decided: live('pd', 'stale_exchange_state', 3_500_000),
      }),
      opts,
    );
    expect(x.verdict.line).toBe(
      'BLOCKED: permits missing after 1200 ms (missing_both; governor decided granted but its permit is gone (expired unused?); ' +
        'P3.3 decided stale_exchange_state but its permit is gone (expired unused?))',
    );
  });

  it('when the result names the governor block reason and its record is gone then the verdict still names it', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 90_000)],
        resultEntries: [
          resultEntry(NOW - 88_000, {
            decision: 'BLOCKED',
            error: 'permit_timeout_or_missing:missing_governor:daily_limit_exceeded',
          }),
        ],
      }),
      opts,
    );
    expect(x.verdict).toMatchObject({
      line: 'BLOCKED: permits missing after 1200 ms (missing_governor; the governor blocked it: daily_limit_exceeded)',
      reason: 'missing_governor',
    });
  });

  it('when apply cancelled the order intent at the last arm check then the timeline says nothing was sent', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000)],
        resultEntries: [resultEntry(NOW - 3000, { decision: 'BLOCKED', error: 'kill_switch_active' })],
        intent: {
          symbol: 'ETHUSDT',
          side: 'BUY',
          quantity: '0.5',
          kind: 'market',
          state: 'cancelled',
          reason: 'kill_switch_active',
          at: String(NOW - 3500),
        },
      }),
      opts,
    );
    const order = x.timeline.filter((e) => e.source === 'order');
    expect(order.map((e) => e.what)).toEqual([
      'order intent written: BUY 0.5 ETHUSDT MARKET reduceOnly',
      'order NOT sent: cancelled before sending',
    ]);
    expect(order[1]).toMatchObject({
      atMs: NOW - 3500,
      approx: true,
      details: { reason: 'kill_switch_active' },
    });
    expect(x.verdict.line).toBe(
      'BLOCKED: kill switch / disarmed when it ran (kill_switch_active; armed again now)',
    );
  });

  it('when another attempt consumed the permits then the verdict does not call them missing', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000)],
        resultEntries: [
          resultEntry(NOW - 4000, {
            decision: 'BLOCKED',
            error: 'permit_timeout_or_missing:consumed_elsewhere',
          }),
        ],
      }),
      opts,
    );
    expect(x.verdict).toEqual({
      kind: 'BLOCKED',
      line: "BLOCKED: another apply attempt consumed this plan's permits; look for its order (consumed_elsewhere)",
      reason: 'consumed_elsewhere',
    });
  });

  it('when consumed permits were refused then the verdict shows the deciding body fields', () => {
    const receipt = JSON.stringify({
      token: 't',
      bodies: [
        '{"granted": true, "symbol": "ETHUSDT", "computed_qty": 0.5}',
        '{"allow": true, "symbol": "ETHUSDT", "safe_close_qty": 0.6, "exchange_position_amt": -0.5, "ledger_amt": -0.5}',
      ],
    });
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000)],
        resultEntries: [resultEntry(NOW - 4000, { decision: 'BLOCKED', error: 'safe_qty_exceeds_position' })],
        receipt: live('r', receipt, 3_590_000),
      }),
      opts,
    );
    expect(x.verdict.line).toBe(
      'BLOCKED: safe_qty_exceeds_position (permits consumed, order refused; governor granted=true symbol=ETHUSDT, ' +
        'P3.3 allow=true symbol=ETHUSDT safe_close_qty=0.6 exchange_position_amt=-0.5)',
    );
  });

  it('when the kill score blocked the plan then the verdict quotes the reason and the score', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000, 'BLOCKED', 'kill_score_critical')],
        resultEntries: [resultEntry(NOW - 4999, { decision: 'BLOCKED', error: 'kill_score_critical' })],
      }),
      opts,
    );
    expect(x.verdict.line).toBe('BLOCKED: apply decided BLOCKED (kill_score_critical, kill_score 0.3)');
  });

  it('when the position was flat then the verdict is SKIP no_position', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000)],
        resultEntries: [resultEntry(NOW - 4000, { decision: 'SKIP', error: 'no_position' })],
      }),
      opts,
    );
    expect(x.verdict).toEqual({
      kind: 'SKIP',
      line: 'SKIP: permits consumed but the position was flat (no_position)',
      reason: 'no_position',
    });
  });

  it('when a plan has waited long without a result then the verdict suspects a stalled apply', () => {
    const x = explainTrace(
      trace({ planEntries: [planEntry(NOW - 5 * 60_000)], intent: { state: 'sending' } }),
      opts,
    );
    expect(x.verdict.kind).toBe('IN_FLIGHT');
    expect(x.verdict.line).toBe(
      'IN FLIGHT: plan published 5 min ago, no result yet; order intent state=sending: apply stopped mid-plan? (it recovers from the intent on restart)',
    );
  });

  it('when only a receipt is left then the verdict is INCOMPLETE and lists it', () => {
    const receipt = JSON.stringify({
      token: 't',
      bodies: [
        '{"granted": true, "symbol": "ETHUSDT"}',
        '{"allow": true, "symbol": "ETHUSDT", "safe_close_qty": 0.5}',
      ],
    });
    const x = explainTrace(trace({ receipt: live('r', receipt, 3_000_000) }), opts);
    expect(x.verdict.kind).toBe('INCOMPLETE');
    expect(x.verdict.line).toContain('consume receipt');
    expect(x.found).toBe(true);
    const consume = x.timeline.find((e) => e.source === 'consume');
    expect(consume?.atMs).toBe(NOW - 600_000); // 3600 s receipt TTL, 3000 s left
    expect(consume?.approx).toBe(true);
  });

  it('when a stored value carries terminal escapes then the text output neutralises them', () => {
    const x = explainTrace(
      trace({
        planEntries: [planEntry(NOW - 5000)],
        resultEntries: [
          resultEntry(NOW - 4000, { decision: 'ERROR', error: 'boom\u001b[2J\nFAKE: EXECUTED' }),
        ],
      }),
      opts,
    );
    const text = renderExplainText(x, 'redis://x');
    expect(text).not.toContain('\u001b');
    expect(text).not.toMatch(/^FAKE/m);
  });
});

describe('consume receipt bodies', () => {
  it('when the receipt holds as many bodies as authorities then they map in configured order', () => {
    const r = JSON.stringify({ token: 't', bodies: ['{"granted": true}', '{"allow": false}'] });
    expect(receiptBodies(r, ['governor', 'p33'])).toEqual({
      governor: '{"granted": true}',
      p33: '{"allow": false}',
    });
  });

  it('when the authority list differs then bodies are recognised by shape', () => {
    const r = JSON.stringify({ token: 't', bodies: ['{"allow": true}', '{"granted": true}'] });
    expect(receiptBodies(r, ['governor', 'p33', 'risk'])).toEqual({
      p33: '{"allow": true}',
      governor: '{"granted": true}',
    });
    expect(receiptBodies('not json', ['governor'])).toEqual({});
  });

  it('when a third authority also says granted then it keeps its own name and the governor body stays', () => {
    const gov = '{"granted": true, "symbol": "BTCUSDT", "decision": "EXECUTE"}';
    const desk = '{"granted": true, "authority": "desk"}';
    const r = JSON.stringify({ token: 't', bodies: [gov, '{"allow": true}', desk] });
    expect(receiptBodies(r, ['governor', 'p33'])).toEqual({ governor: gov, p33: '{"allow": true}', desk });
    const twoGranted = JSON.stringify({ token: 't', bodies: [gov, '{"granted": true}'] });
    expect(receiptBodies(twoGranted, ['governor'])).toEqual({ governor: gov, permit_2: '{"granted": true}' });
  });
});
