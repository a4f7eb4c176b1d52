import { readFileSync } from 'node:fs';
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
const SKEW = 5;

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

function check(
  body: unknown,
  keys: PermitKey[],
  o: { authority?: SigningAuthority; now?: number; ttl?: number } = {},
) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const r = verifyPermitSignature(
    text,
    {
      authority: o.authority ?? 'governor',
      planId: PLAN,
      nowSec: o.now ?? NOW + 1,
      maxSkewSec: SKEW,
      permitTtlSec: o.ttl ?? 60,
    },
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

  it('when expires_at lies beyond now + TTL + skew then permit_expiry_too_far, and at the bound it is accepted', () => {
    const at = (expiresAt: number) => signPermitBody('governor', PLAN, govBody(), expiresAt, gov);
    expect(check(at(NOW + 60 + SKEW), [gov], { now: NOW })).toBe('ok');
    expect(check(at(NOW + 60 + SKEW + 1), [gov], { now: NOW })).toBe('permit_expiry_too_far');
    expect(check(at(NOW + 86_400 * 365), [gov], { now: NOW })).toBe('permit_expiry_too_far');
    // P3.3's own TTL (P33_PERMIT_TTL) sets its bound.
    const p = signPermitBody('p33', PLAN, p33Body(), NOW + 120 + SKEW, p33);
    expect(check(p, [p33], { authority: 'p33', now: NOW, ttl: 120 })).toBe('ok');
    expect(check(p, [p33], { authority: 'p33', now: NOW, ttl: 60 })).toBe('permit_expiry_too_far');
  });

  it('when the verifier is given no usable TTL then permit_expiry_too_far (no expiry can be bounded)', () => {
    const g = signed('governor', govBody(), gov);
    for (const ttl of [Number.NaN, -1, Number.POSITIVE_INFINITY, undefined as unknown as number]) {
      const r = verifyPermitSignature(
        JSON.stringify(g),
        { authority: 'governor', planId: PLAN, nowSec: NOW, maxSkewSec: SKEW, permitTtlSec: ttl },
        [gov],
      );
      expect(r).toMatchObject({
        ok: false,
        reason: 'permit_expiry_too_far',
        detail: { why: 'no_ttl_bound' },
      });
    }
  });

  it('when created_at lies beyond now + skew then permit_not_yet_valid, and at the bound it is accepted', () => {
    const created = (createdAt: unknown) =>
      signPermitBody('governor', PLAN, { ...govBody(), created_at: createdAt }, NOW + 60, gov);
    expect(check(created(NOW + SKEW), [gov], { now: NOW })).toBe('ok');
    expect(check(created(NOW + SKEW + 1), [gov], { now: NOW })).toBe('permit_not_yet_valid');
    expect(check(created(NOW + 3600), [gov], { now: NOW })).toBe('permit_not_yet_valid');
    const p = signPermitBody('p33', PLAN, { ...p33Body(), created_at: NOW + SKEW + 1 }, NOW + 60, p33);
    expect(check(p, [p33], { authority: 'p33', now: NOW })).toBe('permit_not_yet_valid');
  });

  it('when created_at is missing or not a finite number then permit_not_yet_valid', () => {
    const { created_at: _dropped, ...without } = govBody();
    expect(check(signPermitBody('governor', PLAN, without, NOW + 60, gov), [gov], { now: NOW })).toBe(
      'permit_not_yet_valid',
    );
    for (const bad of [null, `${NOW}`, true]) {
      const b = signPermitBody('governor', PLAN, { ...govBody(), created_at: bad }, NOW + 60, gov);
      expect(check(b, [gov], { now: NOW }), String(bad)).toBe('permit_not_yet_valid');
    }
    // Python's json.dumps writes NaN and Infinity: a body signed over them must still be refused.
    for (const odd of ['NaN', 'Infinity']) {
      const fields = { ...govBody(), created_at: Number(odd), plan_id: PLAN, expires_at: NOW + 60 };
      const mac = gov.mac(canonicalPermitText('governor', PLAN, 'BTCUSDT', fields)).toString('hex');
      const text = JSON.stringify({ ...fields, created_at: 0, sig: `v1:${gov.keyId}:${mac}` }).replace(
        '"created_at":0',
        `"created_at":${odd}`,
      );
      expect(check(text, [gov], { now: NOW }), odd).toBe('permit_not_yet_valid');
    }
  });

  it('when a permit set is checked then each authority is bounded by its own TTL', () => {
    const bodies = {
      governor: JSON.stringify(signPermitBody('governor', PLAN, govBody(), NOW + 60, gov)),
      p33: JSON.stringify(signPermitBody('p33', PLAN, p33Body(), NOW + 300, p33)),
    };
    const base = {
      planId: PLAN,
      nowSec: NOW,
      maxSkewSec: SKEW,
      keys: { governor: [gov], p33: [p33] },
      bodies,
    };
    expect(verifyPermitSet({ ...base, permitTtlSec: { governor: 60, p33: 300 } })).toEqual({ ok: true });
    expect(verifyPermitSet({ ...base, permitTtlSec: { governor: 60, p33: 60 } })).toMatchObject({
      ok: false,
      authority: 'p33',
      reason: 'permit_expiry_too_far',
    });
    const noTtl = { ...base } as unknown as Parameters<typeof verifyPermitSet>[0];
    expect(verifyPermitSet(noTtl)).toMatchObject({ ok: false, reason: 'permit_expiry_too_far' });
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
    const base = { planId: PLAN, nowSec: NOW, maxSkewSec: 5, permitTtlSec: { governor: 60, p33: 60 }, keys };
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

  it('when the reasons are listed then they are the closed set documented in SECURITY.md and the env examples', () => {
    expect([...SIGNATURE_REASONS].sort()).toEqual(
      [
        'permit_bad_signature',
        'permit_expired',
        'permit_expiry_too_far',
        'permit_not_yet_valid',
        'permit_replayed',
        'permit_tampered',
        'permit_unsigned',
      ].sort(),
    );
    const security = readFileSync(new URL('../../SECURITY.md', import.meta.url), 'utf8');
    const source = readFileSync(new URL('../../src/domain/permit-signing.ts', import.meta.url), 'utf8');
    const examples = ['apply', 'all'].map((n) =>
      readFileSync(new URL(`../../deploy/env/${n}.env.example`, import.meta.url), 'utf8').replace(
        /\n#\s*/g,
        ' ',
      ),
    );
    for (const r of SIGNATURE_REASONS) {
      expect(security, r).toContain(`| \`${r}\` |`);
      expect(source, r).toContain(` * - \`${r}\`:`);
      for (const ex of examples) expect(ex, r).toMatch(new RegExp(`\\b${r}\\b`));
    }
  });
});
