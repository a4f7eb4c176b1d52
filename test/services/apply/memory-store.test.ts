import { afterEach, describe, expect, it } from 'vitest';
import { govBody, makeHarness, p33Body, planIdFor, proposal, type Harness } from './harness.js';
import { sleep } from '../../helpers/wait.js';

describe('apply service on the memory store', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('when permits are present then the order goes out once and the result is EXECUTE', async () => {
    // A contract vector (dated 2026-01-25): the freshness bound is set past its age.
    h = await makeHarness('memory', { maxProposalAgeSec: 20 * 365 * 86_400 });
    await h.service.start();
    const fields = proposal('PARTIAL_75', '0.539', { computed_at_utc: '2026-01-25T00:43:45Z' });
    const id = planIdFor('BTCUSDT', fields);
    await h.setPermit('governor', id, govBody('BTCUSDT'));
    await h.setPermit('p33', id, p33Body('BTCUSDT', 0.0075));
    await h.writeProposal('BTCUSDT', fields);
    const [res] = await h.waitForResults(1);
    expect(id).toBe('9fc366d9a9b3ef10');
    expect(res?.fields).toMatchObject({ plan_id: id, decision: 'EXECUTE', executed: 'True' });
    expect(h.exchange.orders.map((o) => [o.side, o.executedQty])).toEqual([['SELL', '0.007']]);
    await h.restartService();
    await sleep(150);
    expect(await h.results()).toHaveLength(1);
    expect(await h.plans()).toHaveLength(1);
  });

  it('when permits never come then BLOCKED missing_both after the wait', async () => {
    h = await makeHarness('memory', { permitWaitMs: 100 });
    await h.service.start();
    await h.writeProposal('ETHUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'));
    const [res] = await h.waitForResults(1);
    expect(res?.fields).toMatchObject({
      decision: 'BLOCKED',
      error: 'permit_timeout_or_missing:missing_both',
    });
    expect(h.exchange.orders).toEqual([]);
  });

  it('when notifications are off then the sweep alone picks up a proposal', async () => {
    h = await makeHarness('memory', { notifications: false, pollSec: 0.02 });
    await h.service.start();
    await h.writeProposal('SOLUSDT', proposal('HOLD', '0.1'));
    const [res] = await h.waitForResults(1);
    expect(res?.fields).toMatchObject({ symbol: 'SOLUSDT', decision: 'SKIP', error: 'action_hold' });
  });

  it('when a symbol is not in SYMBOLS then its proposal is ignored', async () => {
    h = await makeHarness('memory');
    await h.service.start();
    await h.writeProposal('XRPUSDT', proposal('FULL_CLOSE_PROPOSED', '0.1'));
    await h.writeProposal('SOLUSDT', proposal('HOLD', '0.1'));
    const results = await h.waitForResults(1);
    await sleep(100);
    expect((await h.results()).map((r) => r.fields.symbol)).toEqual(['SOLUSDT']);
    expect(results).toHaveLength(1);
  });
});
