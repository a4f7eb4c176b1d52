/**
 * The apply layer with APPLY_REQUIRE_SIGNED_PERMITS: signed permits execute, every forgery ends
 * BLOCKED with its own reason and metric and no order; without the requirement the unsigned
 * fleet's permits still execute.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PermitKey, signPermitBody, type SigningAuthority } from '../../src/domain/permit-signing.js';
import type { ApplyOptions } from '../../src/services/apply/options.js';
import { logLines, makeHarness, planIdFor, proposal, type Harness } from '../services/apply/harness.js';
import { until } from '../helpers/wait.js';

const GOV = new PermitKey('governor-current-secret-0123456789abcdef');
const GOV_OLD = new PermitKey('governor-previous-secret-0123456789abcdef');
const P33 = new PermitKey('p33-current-secret-0123456789abcdef-0000');
const THIRD = new PermitKey('some-third-secret-0123456789abcdef-00000');

const REQUIRED: ApplyOptions['signedPermits'] = {
  keys: { governor: [GOV, GOV_OLD], p33: [P33] },
  maxSkewSec: 5,
  permitTtlSec: { governor: 60, p33: 60 },
};
const nowSec = () => Date.now() / 1000;

const govFields = (symbol: string) => ({
  granted: true,
  symbol,
  decision: 'EXECUTE',
  computed_qty: 0.01,
  computed_notional: 500.0,
  created_at: nowSec(),
  consumed: false,
});
const p33Fields = (symbol: string, safe = 0.0076) => ({
  allow: true,
  symbol,
  safe_close_qty: safe,
  exchange_position_amt: 0.01,
  ledger_amt: 0.01,
  created_at: nowSec(),
  reason: 'sanity_checks_passed',
});
const sign = (a: SigningAuthority, id: string, body: Record<string, unknown>, key: PermitKey, ttl = 60) =>
  signPermitBody(a, id, body, nowSec() + ttl, key);

interface Permits {
  gov: (id: string) => Record<string, unknown>;
  p33: (id: string) => Record<string, unknown>;
}
const good: Permits = {
  gov: (id) => sign('governor', id, govFields('BTCUSDT'), GOV),
  p33: (id) => sign('p33', id, p33Fields('BTCUSDT'), P33),
};

describe('apply with signed permits required', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  const run = async (
    permits: Partial<Permits>,
    over: Partial<ApplyOptions> = { signedPermits: REQUIRED },
  ) => {
    h = await makeHarness('memory', { permitWaitMs: 2000, ...over });
    await h.service.start();
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.3');
    const id = planIdFor('BTCUSDT', fields);
    await h.writeProposal('BTCUSDT', fields);
    await until(async () => (await h!.plans()).length > 0, 2000, 'the plan');
    await h.setPermit('governor', id, JSON.stringify((permits.gov ?? good.gov)(id)));
    await h.setPermit('p33', id, JSON.stringify((permits.p33 ?? good.p33)(id)));
    const [res] = await h.waitForResults(1);
    return { id, res: res!.fields, h };
  };

  it('when both permits are signed by the current keys then the order goes out', async () => {
    const { res, h } = await run({});
    expect(res).toMatchObject({ decision: 'EXECUTE', executed: 'True', error: '' });
    expect(h.exchange.orders).toHaveLength(1);
    expect(h.metrics.count('permitRejected')).toBe(0);
  });

  it.each<[string, Partial<Permits>, string]>([
    ['the governor permit is unsigned', { gov: () => govFields('BTCUSDT') }, 'permit_unsigned'],
    ['the P3.3 permit is unsigned', { p33: () => p33Fields('BTCUSDT') }, 'permit_unsigned'],
    [
      'the governor permit is signed with a wrong secret',
      { gov: (id) => sign('governor', id, govFields('BTCUSDT'), THIRD) },
      'permit_bad_signature',
    ],
    [
      'the P3.3 permit is signed with the governor key',
      { p33: (id) => sign('p33', id, p33Fields('BTCUSDT'), GOV) },
      'permit_bad_signature',
    ],
    [
      'the governor permit has expired',
      { gov: (id) => sign('governor', id, govFields('BTCUSDT'), GOV, -30) },
      'permit_expired',
    ],
    [
      'the governor permit expires further ahead than its TTL allows',
      { gov: (id) => sign('governor', id, govFields('BTCUSDT'), GOV, 3600) },
      'permit_expiry_too_far',
    ],
    [
      'the P3.3 permit was created in the future',
      { p33: (id) => sign('p33', id, { ...p33Fields('BTCUSDT'), created_at: nowSec() + 600 }, P33) },
      'permit_not_yet_valid',
    ],
    [
      'the governor permit was signed for another plan',
      { gov: () => sign('governor', '00000000000000ff', govFields('BTCUSDT'), GOV) },
      'permit_replayed',
    ],
    [
      'the P3.3 permit was signed for another plan',
      { p33: () => sign('p33', '00000000000000ff', p33Fields('BTCUSDT'), P33) },
      'permit_replayed',
    ],
    [
      'the safe_close_qty was raised after signing',
      { p33: (id) => ({ ...good.p33(id), safe_close_qty: 0.01 }) },
      'permit_tampered',
    ],
    [
      'the governor quantity was changed after signing',
      { gov: (id) => ({ ...good.gov(id), computed_qty: 5 }) },
      'permit_tampered',
    ],
    [
      'the symbol was changed after signing',
      { p33: (id) => ({ ...sign('p33', id, p33Fields('ETHUSDT'), P33), symbol: 'BTCUSDT' }) },
      'permit_tampered',
    ],
    [
      'the signature is malformed',
      { gov: (id) => ({ ...good.gov(id), sig: 'v1:nothex' }) },
      'permit_bad_signature',
    ],
  ])('when %s then BLOCKED %s, counted, and no order', async (_what, permits, reason) => {
    const { id, res, h } = await run(permits);
    expect(res).toMatchObject({ decision: 'BLOCKED', executed: 'False', error: reason });
    expect(h.exchange.orders).toHaveLength(0);
    expect(h.metrics.count('permitRejected', reason)).toBe(1);
    const block = logLines(h.log, '[PERMIT_WAIT] BLOCK');
    expect(block.map((l) => l.msg)).toEqual([expect.stringContaining(`plan=${id} symbol=BTCUSDT`)]);
    expect(String(block[0]!.msg)).toContain(`reason=${reason}`);
  });

  it('when the governor secret rotates then permits signed with the previous key still execute', async () => {
    const { res } = await run({ gov: (id) => sign('governor', id, govFields('BTCUSDT'), GOV_OLD) });
    expect(res).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
  });

  it('when signing is not required then the unsigned fleet permits execute as before', async () => {
    const { res, h } = await run(
      { gov: () => govFields('BTCUSDT'), p33: () => p33Fields('BTCUSDT') },
      { signedPermits: null },
    );
    expect(res).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
    expect(h.exchange.orders).toHaveLength(1);
  });

  it('when signing is not required then signed permits are accepted too (authorities can sign first)', async () => {
    const { res } = await run({}, { signedPermits: null });
    expect(res).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
  });
});
