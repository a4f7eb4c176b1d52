import { describe, expect, it } from 'vitest';
import { orderSideToReduce, resultFields } from '../../src/domain/result.js';

describe('resultFields', () => {
  it('when an order went out then the entry has the fleet fields, Python booleans and json.dumps steps', () => {
    const f = resultFields({
      planId: '9fc366d9a9b3ef10',
      symbol: 'BTCUSDT',
      decision: 'EXECUTE',
      executed: true,
      wouldExecute: false,
      steps: [
        {
          reduce_only: true,
          step: 'CLOSE_PARTIAL_75',
          status: 'success',
          details: 'filled',
          order_id: '123',
          side: 'SELL',
          quantity: '0.046',
          executed_qty: '0.046',
        },
      ],
      error: '',
      nowSec: 1769301825.7,
    });
    expect(f).toEqual({
      plan_id: '9fc366d9a9b3ef10',
      symbol: 'BTCUSDT',
      decision: 'EXECUTE',
      executed: 'True',
      would_execute: 'False',
      steps_results:
        '[{"step": "CLOSE_PARTIAL_75", "status": "success", "details": "filled", "order_id": "123", "side": "SELL", "quantity": "0.046", "executed_qty": "0.046", "reduce_only": true}]',
      error: '',
      timestamp: '1769301825',
    });
  });
  it('when nothing ran then steps_results is an empty list and the error text is kept', () => {
    const f = resultFields({
      planId: 'a',
      symbol: 'BTCUSDT',
      decision: 'BLOCKED',
      executed: false,
      wouldExecute: true,
      steps: [],
      error: 'permit_timeout_or_missing:missing_p33',
      nowSec: 0,
    });
    expect(f).toMatchObject({
      executed: 'False',
      would_execute: 'True',
      steps_results: '[]',
      error: 'permit_timeout_or_missing:missing_p33',
    });
  });
  it('when details hold non-ASCII or quotes then they are escaped as Python json.dumps does', () => {
    const f = resultFields({
      planId: 'a',
      symbol: 'BTCUSDT',
      decision: 'ERROR',
      executed: false,
      wouldExecute: false,
      steps: [{ step: 'X', status: 'error', details: 'é "q"\n' }],
      error: 'e',
      nowSec: 1,
    });
    expect(f.steps_results).toBe('[{"step": "X", "status": "error", "details": "\\u00e9 \\"q\\"\\n"}]');
    expect(JSON.parse(f.steps_results as string)).toEqual([
      { step: 'X', status: 'error', details: 'é "q"\n' },
    ]);
  });
});

describe('orderSideToReduce', () => {
  it('when long then SELL, short then BUY, flat or unknown then null', () => {
    expect([0.5, -0.5, 0, -0, NaN, Infinity].map(orderSideToReduce)).toEqual([
      'SELL',
      'BUY',
      null,
      null,
      null,
      null,
    ]);
  });
});
