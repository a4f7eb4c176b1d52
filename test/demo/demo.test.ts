/**
 * The embedded demo as a newcomer runs it (in-memory store, paper exchange, no Redis): it ends
 * with exit 0, every scripted gate shows up in the results, and both safety counters are 0.
 */
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/run.js';

describe('demo', () => {
  it('when run for 12 s then every scripted gate appears and no order lacks permits or repeats', async () => {
    const out: string[] = [];
    const code = await runDemo({ durationSec: 12, out: (t) => void out.push(t) });
    const text = out.join('');
    expect(code).toBe(0);
    expect(text).toMatch(/result {3}BTCUSDT {3}EXECUTE +SELL 0\.060 filled/);
    expect(text).toMatch(/result {3}DOGEUSDT +SKIP not_in_allowlist/);
    expect(text).toMatch(/result {3}BNBUSDT +BLOCKED kill_score_critical/);
    expect(text).toMatch(/result {3}ETHUSDT +BLOCKED kill_score_warning_risk_increase/);
    expect(text).toMatch(/result {3}SOLUSDT +BLOCKED permit_timeout_or_missing:missing_desk/);
    expect(text).toMatch(/result {3}ETHUSDT +BLOCKED kill_switch_active/);
    expect(text).toMatch(/\[PERMIT_WAIT\] OK plan=[0-9a-f]{16} symbol=\w+ wait_ms=\d+ safe_qty=/);
    expect(text).toContain('orders without a full permit set   0');
    expect(text).toContain('duplicate orders for one plan step 0');
    // The unchanged BTCUSDT proposal must not produce a second plan.
    expect(text.match(/result {3}BTCUSDT {3}EXECUTE +SELL 0\.060/g)).toHaveLength(1);
  }, 40_000);
});
