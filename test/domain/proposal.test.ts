import { describe, expect, it } from 'vitest';
import { parseProposal } from '../../src/domain/proposal.js';

const base = { harvest_action: 'PARTIAL_75', kill_score: '0.539', computed_at_utc: '2026-01-25T00:43:45Z' };

describe('parseProposal', () => {
  it('when every field is present then each is parsed like Python float() and kept raw', () => {
    const r = parseProposal('BTCUSDT', {
      ...base,
      k_regime_flip: '0.1',
      k_sigma_spike: ' 2 ',
      k_ts_drop: 'nan',
      k_age_penalty: 'bogus',
      new_sl_proposed: '142.35',
      R_net: '-1e-3',
      last_update_epoch: '1769301825',
      reason_codes: 'a, b,,c',
      unrelated: 'x'.repeat(5000),
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = r.proposal;
    expect(p.killScore).toBe(0.539);
    expect([p.kRegimeFlip, p.kSigmaSpike, p.kAgePenalty]).toEqual([0.1, 2, null]);
    expect(Number.isNaN(p.kTsDrop)).toBe(true);
    expect([p.newSl, p.rNet, p.lastUpdateEpoch]).toEqual([142.35, -0.001, 1769301825]);
    expect(p.reasonCodes).toEqual(['a', 'b', 'c']);
    expect(p.raw.kill_score).toBe('0.539');
    expect(p.raw).not.toHaveProperty('unrelated');
    expect(Object.isFrozen(p.raw)).toBe(true);
  });
  it('when optional fields are absent then they are null and computed_at_utc is empty', () => {
    const r = parseProposal('BTCUSDT', { harvest_action: 'HOLD', kill_score: '0' });
    expect(r.ok && r.proposal).toMatchObject({ newSl: null, rNet: null, computedAtUtc: '', reasonCodes: [] });
  });
  it('when harvest_action is absent or empty then no plan (missing_harvest_action)', () => {
    expect(parseProposal('BTCUSDT', { kill_score: '0.5' })).toEqual({
      ok: false,
      reason: 'missing_harvest_action',
    });
    expect(parseProposal('BTCUSDT', { ...base, harvest_action: '' })).toMatchObject({
      reason: 'missing_harvest_action',
    });
  });
  it('when kill_score is absent, blank or unparseable then no plan with a reason', () => {
    expect(parseProposal('BTCUSDT', { harvest_action: 'HOLD' })).toMatchObject({
      reason: 'missing_kill_score',
    });
    expect(parseProposal('BTCUSDT', { ...base, kill_score: '  ' })).toMatchObject({
      reason: 'missing_kill_score',
    });
    expect(parseProposal('BTCUSDT', { ...base, kill_score: '0x10' })).toMatchObject({
      reason: 'invalid_kill_score',
    });
  });
  it('when kill_score is nan or inf then it parses (the contract keeps them)', () => {
    const r = parseProposal('BTCUSDT', { ...base, kill_score: 'NaN' });
    expect(r.ok && Number.isNaN(r.proposal.killScore)).toBe(true);
    expect(parseProposal('BTCUSDT', { ...base, kill_score: '-inf' })).toMatchObject({
      proposal: { killScore: -Infinity },
    });
  });
  it('when the symbol is outside ^[A-Z0-9]{2,30}$ then invalid_symbol', () => {
    for (const s of ['btcusdt', 'B', 'BTC-USDT', 'A'.repeat(31), '', 'BTC USDT', 'BTCUSDT\n']) {
      expect(parseProposal(s, base)).toEqual({ ok: false, reason: 'invalid_symbol' });
    }
    expect(parseProposal('1000PEPEUSDT', base).ok).toBe(true);
  });
  it('when a known field is absurdly long then field_too_long names it', () => {
    expect(parseProposal('BTCUSDT', { ...base, computed_at_utc: 'x'.repeat(257) })).toEqual({
      ok: false,
      reason: 'field_too_long',
      field: 'computed_at_utc',
    });
    expect(parseProposal('BTCUSDT', { ...base, computed_at_utc: 'x'.repeat(256) }).ok).toBe(true);
    expect(parseProposal('BTCUSDT', { ...base, reason_codes: 'r,'.repeat(1000) }).ok).toBe(true);
    expect(parseProposal('BTCUSDT', { ...base, reason_codes: 'r'.repeat(2049) })).toMatchObject({
      field: 'reason_codes',
    });
  });
  it('when the hash has thousands of fields then too_many_fields', () => {
    const many: Record<string, string> = { ...base };
    for (let i = 0; i < 300; i++) many[`f${i}`] = '1';
    expect(parseProposal('BTCUSDT', many)).toEqual({ ok: false, reason: 'too_many_fields' });
  });
  it('when a field is inherited or not a string then it is ignored', () => {
    const proto = Object.create({ harvest_action: 'HOLD' }) as Record<string, string>;
    proto.kill_score = '0.1';
    expect(parseProposal('BTCUSDT', proto)).toMatchObject({ reason: 'missing_harvest_action' });
    expect(parseProposal('BTCUSDT', { ...base, kill_score: 5 as unknown as string })).toMatchObject({
      reason: 'missing_kill_score',
    });
  });
});
