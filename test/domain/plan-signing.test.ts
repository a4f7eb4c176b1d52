import { describe, expect, it } from 'vitest';
import { parseCheckedPlan, type PlanSignaturePolicy } from '../../src/domain/governor/plan-input.js';
import { PermitKey, canonicalPermitText } from '../../src/domain/permit-signing.js';
import {
  PLAN_SIGNATURE_REASONS,
  PLAN_SIG_FIELD,
  canonicalPlanText,
  planEntrySigner,
  signPlanFields,
  verifyPlanSignature,
} from '../../src/domain/plan-signing.js';

const key = new PermitKey('a'.repeat(20) + '-plan-secret-current');
const old = new PermitKey('o'.repeat(20) + '-plan-secret-previous');
const stranger = new PermitKey('s'.repeat(20) + '-someone-elses-secret');

/** A plan entry as apply publishes it (planStreamFields' shape and order). */
const entry = (over: Record<string, string> = {}): Record<string, string> => ({
  plan_id: '9fc366d9a9b3ef10',
  symbol: 'BTCUSDT',
  action: 'PARTIAL_50',
  kill_score: '0.539',
  k_regime_flip: '0.1',
  k_sigma_spike: '0.2',
  k_ts_drop: '0.0',
  k_age_penalty: '0.05',
  new_sl_proposed: '',
  R_net: '1.5',
  decision: 'EXECUTE',
  reason_codes: '',
  steps: '[{"step": "CLOSE_PARTIAL_50", "type": "market_reduce_only", "side": "close", "pct": 50.0}]',
  close_qty: '0.0',
  price: '',
  timestamp: '1769300000',
  ...over,
});

const verdict = (fields: Record<string, string>, keys: readonly PermitKey[] = [key, old]) => {
  const r = verifyPlanSignature(fields, keys);
  return r.ok ? 'ok' : r.reason;
};

describe('canonical plan text', () => {
  it('when an entry is canonicalised then it is json.dumps of the domain and the sorted pairs, sig left out', () => {
    expect(canonicalPlanText({ symbol: 'BTCUSDT', R_net: 'None', action: 'PARTIAL_50', sig: 'x' })).toBe(
      '["quantum-plan/v1", ["R_net", "None"], ["action", "PARTIAL_50"], ["symbol", "BTCUSDT"]]',
    );
  });

  it('when names or values are not ASCII then they are escaped as Python ensure_ascii and sorted by code point', () => {
    // U+FF5E sorts before U+1F600 by code point, after it by UTF-16 unit: Python sorts by code point.
    expect(canonicalPlanText({ '\u{1F600}': 'b', '\uFF5E': 'a', note: 'é"\n' })).toBe(
      '["quantum-plan/v1", ["note", "\\u00e9\\"\\n"], ["\\uff5e", "a"], ["\\ud83d\\ude00", "b"]]',
    );
  });

  it('when the same fields come in another order then the text is the same', () => {
    const e = entry();
    const reversed = Object.fromEntries(Object.entries(e).reverse());
    expect(canonicalPlanText(reversed)).toBe(canonicalPlanText(e));
  });

  it('when compared with a permit text then the domain prefixes differ', () => {
    expect(canonicalPlanText(entry()).startsWith('["quantum-plan/v1", ')).toBe(true);
    expect(canonicalPermitText('governor', 'x', 'BTCUSDT', {}).startsWith('["quantum-permit/v1", ')).toBe(
      true,
    );
  });
});

describe('signing and verifying plan entries', () => {
  it('when an entry is signed then every field is kept in order, sig comes last and verifies', () => {
    const e = entry();
    const signed = signPlanFields(e, key);
    expect(Object.keys(signed)).toEqual([...Object.keys(e), PLAN_SIG_FIELD]);
    expect({ ...signed, sig: undefined }).toEqual({ ...e, sig: undefined });
    expect(signed.sig).toMatch(new RegExp(`^v1:${key.keyId}:[0-9a-f]{64}$`));
    expect(verifyPlanSignature(signed, [key])).toEqual({ ok: true, keyId: key.keyId });
    expect(planEntrySigner(key)(e)).toEqual(signed);
  });

  it('when an entry already has a sig then signing replaces it', () => {
    const signed = signPlanFields(entry({ sig: 'v1:00000000:' + '0'.repeat(64) }), key);
    expect(verdict(signed)).toBe('ok');
  });

  it('when rotating then an entry signed with the previous key verifies while both are held, and not after', () => {
    const signedOld = signPlanFields(entry(), old);
    expect(verdict(signedOld, [key, old])).toBe('ok');
    expect(verdict(signedOld, [old, key])).toBe('ok');
    expect(verdict(signedOld, [key])).toBe('plan_bad_signature');
  });

  it('when signed with a key the verifier does not hold then plan_bad_signature unknown_key', () => {
    const r = verifyPlanSignature(signPlanFields(entry(), stranger), [key, old]);
    expect(r).toEqual({
      ok: false,
      reason: 'plan_bad_signature',
      detail: { why: 'unknown_key', key_id: stranger.keyId },
    });
  });

  it('when the verifier holds no key then a signed entry is plan_bad_signature', () => {
    expect(verdict(signPlanFields(entry(), key), [])).toBe('plan_bad_signature');
  });

  it('when any single field is changed after signing then plan_tampered', () => {
    const signed = signPlanFields(entry(), key);
    for (const name of Object.keys(entry())) {
      for (const value of [`${signed[name]}x`, '', 'FULL_CLOSE_PROPOSED']) {
        if (value === signed[name]) continue;
        expect(verdict({ ...signed, [name]: value }), `${name}=${value}`).toBe('plan_tampered');
      }
    }
  });

  it('when a field is added or removed after signing then plan_tampered', () => {
    const signed = signPlanFields(entry(), key);
    expect(verdict({ ...signed, reduceOnly: 'false' })).toBe('plan_tampered');
    const { close_qty: _dropped, ...fewer } = signed;
    expect(verdict(fewer)).toBe('plan_tampered');
  });

  it('when a field name is changed but its value kept then plan_tampered', () => {
    const { price, ...rest } = signPlanFields(entry({ price: '100.5' }), key);
    expect(verdict({ ...rest, Price: price! })).toBe('plan_tampered');
  });

  it('when the sig of another entry is copied onto a forged one then plan_tampered', () => {
    const real = signPlanFields(entry({ plan_id: '1111111111111111' }), key);
    const forged = entry({ plan_id: '9fc366d9a9b3ef10', action: 'FULL_CLOSE_PROPOSED', sig: real.sig! });
    expect(verdict(forged)).toBe('plan_tampered');
  });

  it('when the id of the real plan is kept but the action changed then plan_tampered', () => {
    const real = signPlanFields(entry(), key);
    expect(verdict({ ...real, action: 'FULL_CLOSE_PROPOSED' })).toBe('plan_tampered');
  });

  it('when sig is absent then plan_unsigned; when it is malformed then plan_bad_signature', () => {
    expect(verdict(entry())).toBe('plan_unsigned');
    const hex = '0'.repeat(64);
    for (const sig of [
      '',
      'v1',
      `v2:${key.keyId}:${hex}`,
      `v1:${key.keyId}:${hex}0`,
      `v1:${key.keyId.toUpperCase()}:${hex}`,
    ])
      expect(verdict(entry({ sig })), sig).toBe('plan_bad_signature');
  });

  it('when a permit signature is put on a plan entry then it is refused', () => {
    const hex = key.mac(canonicalPermitText('governor', '9fc366d9a9b3ef10', 'BTCUSDT', {})).toString('hex');
    expect(verdict(entry({ sig: `v1:${key.keyId}:${hex}` }))).toBe('plan_tampered');
  });

  it('when the reasons are listed then they are the closed set of three', () => {
    expect([...PLAN_SIGNATURE_REASONS]).toEqual(['plan_unsigned', 'plan_bad_signature', 'plan_tampered']);
  });
});

describe('parseCheckedPlan', () => {
  const required: PlanSignaturePolicy = { keys: [key, old], required: true };
  const optional: PlanSignaturePolicy = { keys: [key, old], required: false };
  const plan = {
    planId: '9fc366d9a9b3ef10',
    symbol: 'BTCUSDT',
    action: 'PARTIAL_50',
    decision: 'EXECUTE',
    killScore: 0.539,
  };

  it('when no policy is given then the entry parses as parseAuthorityPlan does, signed or not', () => {
    expect(parseCheckedPlan(entry(), null)).toEqual({ ok: true, plan });
    expect(parseCheckedPlan(entry({ sig: 'junk' }), undefined)).toEqual({ ok: true, plan });
  });

  it('when signatures are required then only a valid one passes, and each failure is refused by reason', () => {
    expect(parseCheckedPlan(signPlanFields(entry(), key), required)).toEqual({ ok: true, plan });
    expect(parseCheckedPlan(signPlanFields(entry(), old), required)).toEqual({ ok: true, plan });
    expect(parseCheckedPlan(entry(), required)).toEqual({ ok: false, reason: 'plan_unsigned', detail: {} });
    expect(parseCheckedPlan(signPlanFields(entry(), stranger), required)).toMatchObject({
      ok: false,
      reason: 'plan_bad_signature',
    });
    expect(
      parseCheckedPlan({ ...signPlanFields(entry(), key), action: 'FULL_CLOSE_PROPOSED' }, required),
    ).toMatchObject({ ok: false, reason: 'plan_tampered' });
  });

  it('when signatures are required but the verifier holds no key then every entry is refused', () => {
    expect(parseCheckedPlan(signPlanFields(entry(), key), { keys: [], required: true })).toMatchObject({
      ok: false,
      reason: 'plan_bad_signature',
    });
  });

  it('when an entry does not parse then its parse reason wins over the signature', () => {
    expect(parseCheckedPlan(entry({ plan_id: '' }), required)).toEqual({
      ok: false,
      reason: 'missing_plan_id',
    });
  });

  it('when signatures are not required then unsigned entries pass plainly and a bad present one passes with a warning', () => {
    expect(parseCheckedPlan(entry(), optional)).toEqual({ ok: true, plan });
    expect(parseCheckedPlan(signPlanFields(entry(), key), optional)).toEqual({ ok: true, plan });
    expect(parseCheckedPlan({ ...signPlanFields(entry(), key), kill_score: '0.1' }, optional)).toEqual({
      ok: true,
      plan: { ...plan, killScore: 0.1 },
      signature: { reason: 'plan_tampered', detail: { key_id: key.keyId } },
    });
    expect(parseCheckedPlan(entry({ sig: 'junk' }), optional)).toMatchObject({
      ok: true,
      signature: { reason: 'plan_bad_signature' },
    });
  });

  it('when signatures are not required and the verifier holds no key then a sig is not looked at', () => {
    expect(parseCheckedPlan(entry({ sig: 'junk' }), { keys: [], required: false })).toEqual({
      ok: true,
      plan,
    });
  });
});
