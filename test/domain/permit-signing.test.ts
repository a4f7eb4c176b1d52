import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  MIN_SECRET_CHARS,
  PermitKey,
  SIGNATURE_REASONS,
  canonicalPermitText,
  signPermitBody,
  verifyPermitSet,
  verifyPermitSignature,
  type SigningAuthority,
} from '../../src/domain/permit-signing.js';

const GOV_SECRET = 'g'.repeat(20) + '-governor-secret-1';
const GOV_OLD = 'o'.repeat(20) + '-governor-secret-0';
const P33_SECRET = 'p'.repeat(20) + '-p33-secret-current';
const gov = new PermitKey(GOV_SECRET);
const govOld = new PermitKey(GOV_OLD);
const p33 = new PermitKey(P33_SECRET);
const PLAN = '9fc366d9a9b3ef10';
const NOW = 1_769_300_000;

const govBody = () => ({
  granted: true,
  symbol: 'BTCUSDT',
  decision: 'EXECUTE',
  computed_qty: 0.0465,
  computed_notional: 4000.5,
  created_at: NOW + 0.25,
  consumed: false,
});
const p33Body = () => ({
  allow: true,
  symbol: 'BTCUSDT',
  safe_close_qty: 0.046,
  exchange_position_amt: 0.062,
  ledger_amt: 0.062,
  created_at: NOW + 0.5,
  reason: 'sanity_checks_passed',
});

const signed = (a: SigningAuthority, body: Record<string, unknown>, key: PermitKey, planId = PLAN) =>
  signPermitBody(a, planId, body, NOW + 60, key);

function check(body: unknown, keys: PermitKey[], o: { authority?: SigningAuthority; now?: number } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const r = verifyPermitSignature(
    text,
    { authority: o.authority ?? 'governor', planId: PLAN, nowSec: o.now ?? NOW + 1, maxSkewSec: 5 },
    keys,
  );
  return r.ok ? 'ok' : r.reason;
}

describe('permit signing', () => {
  it('when a governor body is signed then the contract fields are kept and plan_id, expires_at, sig added', () => {
    const b = signed('governor', govBody(), gov);
    expect(b).toMatchObject({ ...govBody(), plan_id: PLAN, expires_at: NOW + 60 });
    expect(b.sig).toMatch(new RegExp(`^v1:${gov.keyId}:[0-9a-f]{64}$`));
    expect(check(b, [gov])).toBe('ok');
    expect(check(signed('p33', p33Body(), p33), [p33], { authority: 'p33' })).toBe('ok');
  });

  it('when no sig field is present (or the body is not an object) then permit_unsigned', () => {
    expect(check(govBody(), [gov])).toBe('permit_unsigned');
    expect(check('not json', [gov])).toBe('permit_unsigned');
    expect(check('[1,2]', [gov])).toBe('permit_unsigned');
    expect(check({ ...govBody(), sig: null }, [gov])).toBe('permit_unsigned');
  });

  it('when the sig is malformed or signed with a secret this host does not hold then permit_bad_signature', () => {
    const b = signed('governor', govBody(), gov);
    expect(check({ ...b, sig: 'v1:zz:00' }, [gov])).toBe('permit_bad_signature');
    expect(check({ ...b, sig: 42 }, [gov])).toBe('permit_bad_signature');
    expect(check({ ...b, sig: b.sig.replace('v1:', 'v2:') }, [gov])).toBe('permit_bad_signature');
    const wrong = new PermitKey('w'.repeat(MIN_SECRET_CHARS));
    expect(check(signed('governor', govBody(), wrong), [gov])).toBe('permit_bad_signature');
  });

  it('when a governor-signed body is presented as the p33 permit then it is refused', () => {
    const b = signed('governor', govBody(), gov);
    expect(check(b, [p33], { authority: 'p33' })).toBe('permit_bad_signature');
    // Both authorities sharing one secret (a misconfiguration) still cannot swap permits.
    expect(check(b, [gov], { authority: 'p33' })).toBe('permit_tampered');
  });

  it('when a signed quantity, symbol, time or decision is changed then permit_tampered', () => {
    const g = signed('governor', govBody(), gov);
    const p = signed('p33', p33Body(), p33);
    expect(check({ ...g, computed_qty: 0.5 }, [gov])).toBe('permit_tampered');
    expect(check({ ...g, symbol: 'ETHUSDT' }, [gov])).toBe('permit_tampered');
    expect(check({ ...g, expires_at: NOW + 6000 }, [gov])).toBe('permit_tampered');
    expect(check({ ...g, granted: false }, [gov])).toBe('permit_tampered');
    expect(check({ ...p, safe_close_qty: 0.062 }, [p33], { authority: 'p33' })).toBe('permit_tampered');
    expect(check({ ...p, safe_close_qty: '0.046' }, [p33], { authority: 'p33' })).toBe('permit_tampered');
    expect(check({ ...p, exchange_position_amt: 5 }, [p33], { authority: 'p33' })).toBe('permit_tampered');
    const { ledger_amt: _dropped, ...without } = p;
    expect(check(without, [p33], { authority: 'p33' })).toBe('permit_tampered');
  });

  it('when a signed field is repeated with another value then the last one counts, as in validation', () => {
    const p = JSON.stringify(signed('p33', p33Body(), p33));
    const dup = p.replace(/}$/, ', "safe_close_qty": 0.062}');
    expect(check(dup, [p33], { authority: 'p33' })).toBe('permit_tampered');
    const same = p.replace(/}$/, ', "safe_close_qty": 0.046}');
    expect(check(same, [p33], { authority: 'p33' })).toBe('ok');
  });

  it('when fields outside the signed set change then the signature still holds', () => {
    const g = signed('governor', govBody(), gov);
    expect(check({ ...g, consumed: true, note: 'x' }, [gov])).toBe('ok');
  });

  it('when a valid permit of another plan is copied under this plan then permit_replayed', () => {
    const other = signed('governor', govBody(), gov, '7db55e142b929234');
    expect(check(other, [gov])).toBe('permit_replayed');
  });

  it('when the plan_id in a signed body is rewritten then the MAC breaks (permit_tampered)', () => {
    const other = signed('governor', govBody(), gov, '7db55e142b929234');
    expect(check({ ...other, plan_id: PLAN }, [gov])).toBe('permit_tampered');
  });

  it('when expires_at plus the skew has passed then permit_expired, not before', () => {
    const g = signed('governor', govBody(), gov);
    expect(check(g, [gov], { now: NOW + 65 })).toBe('ok');
    expect(check(g, [gov], { now: NOW + 65.001 })).toBe('permit_expired');
    const noExpiry = signPermitBody('governor', PLAN, govBody(), Number.NaN, gov);
    expect(check(noExpiry, [gov])).toBe('permit_expired');
  });

  it('when secrets rotate then the current and the previous key verify and a third is refused', () => {
    const third = new PermitKey('t'.repeat(40));
    expect(check(signed('governor', govBody(), gov), [gov, govOld])).toBe('ok');
    expect(check(signed('governor', govBody(), govOld), [gov, govOld])).toBe('ok');
    expect(check(signed('governor', govBody(), third), [gov, govOld])).toBe('permit_bad_signature');
  });

  it('when the canonical text is built then it is Python json.dumps with floats and fixed field order', () => {
    const text = canonicalPermitText('governor', PLAN, 'BTCUSDT', {
      granted: true,
      computed_qty: 5,
      created_at: 1,
    });
    expect(text).toBe(
      `["quantum-permit/v1", ["authority", "governor"], ["plan_id", "${PLAN}"], ["symbol", "BTCUSDT"], ` +
        '["granted", true], ["decision", null], ["computed_qty", 5.0], ["computed_notional", null], ' +
        '["created_at", 1.0], ["expires_at", null]]',
    );
  });

  it('when a key is logged, inspected or serialised then the secret never appears', () => {
    const shown = [
      JSON.stringify(gov),
      inspect(gov),
      inspect({ k: gov }, { depth: 5 }),
      String(Object.keys(gov)),
    ];
    for (const s of shown) expect(s).not.toContain(GOV_SECRET);
    const weak = 'weak-secret-value';
    let message = '';
    try {
      new PermitKey(weak);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/shorter than 32/);
    expect(message).not.toContain(weak);
  });

  it('when a permit set is checked then every body must pass and the first failure names its authority', () => {
    const bodies = {
      governor: JSON.stringify(signed('governor', govBody(), gov)),
      p33: JSON.stringify(signed('p33', p33Body(), p33)),
    };
    const keys = { governor: [gov], p33: [p33] };
    const base = { planId: PLAN, nowSec: NOW, maxSkewSec: 5, keys };
    expect(verifyPermitSet({ ...base, bodies })).toEqual({ ok: true });
    expect(verifyPermitSet({ ...base, bodies: { ...bodies, p33: JSON.stringify(p33Body()) } })).toMatchObject(
      {
        ok: false,
        authority: 'p33',
        reason: 'permit_unsigned',
      },
    );
    expect(verifyPermitSet({ ...base, bodies: { ...bodies, desk: '{}' } })).toMatchObject({
      ok: false,
      authority: 'desk',
      reason: 'permit_unsigned',
    });
    expect(verifyPermitSet({ ...base, bodies, keys: { governor: [gov] } })).toMatchObject({
      ok: false,
      authority: 'p33',
      reason: 'permit_bad_signature',
    });
  });

  it('when the reasons are listed then they are the closed set documented in SECURITY.md', () => {
    expect([...SIGNATURE_REASONS].sort()).toEqual(
      [
        'permit_bad_signature',
        'permit_expired',
        'permit_replayed',
        'permit_tampered',
        'permit_unsigned',
      ].sort(),
    );
  });
});
