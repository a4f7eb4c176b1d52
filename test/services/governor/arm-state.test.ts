import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ops/clock.js';
import { parseArmState, readArmState, setArmState } from '../../../src/services/arm-state.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';

describe('arm state', () => {
  it('when the hash is absent then armed by default', () => {
    expect(parseArmState({})).toEqual({ armed: true, reason: 'default', by: '', at: 0 });
  });
  it('when the hash is garbage then not armed (fail closed)', () => {
    expect(parseArmState({ armed: 'maybe' })).toMatchObject({ armed: false, reason: 'arm_state_invalid' });
    expect(parseArmState({ reason: 'x' })).toMatchObject({ armed: false, reason: 'arm_state_invalid' });
    expect(parseArmState({ armed: 'true', at: 'NaN' })).toMatchObject({
      armed: false,
      reason: 'arm_state_invalid',
    });
  });
  it('when an operator writes 1/0 by hand then it is read', () => {
    expect(parseArmState({ armed: '0', reason: 'hand' })).toMatchObject({ armed: false, reason: 'hand' });
    expect(parseArmState({ armed: '1' })).toMatchObject({ armed: true });
  });
  it('when the store cannot be read then not armed', async () => {
    const broken = { keys: new MemoryStore().keys, hgetall: () => Promise.reject(new Error('down')) };
    expect(await readArmState(broken as never)).toMatchObject({ armed: false, reason: 'arm_state_invalid' });
  });
  it('when the state is set then it is read back and an arm change is recorded on the decisions stream', async () => {
    const store = new MemoryStore({ clock: new ManualClock(1_000), sweepMs: 0 });
    await setArmState(store, { armed: false, reason: 'maintenance', by: 'ops', atMs: 1_769_342_400_000 });
    expect(await readArmState(store)).toEqual({
      armed: false,
      reason: 'maintenance',
      by: 'ops',
      at: 1_769_342_400_000,
    });
    const [ev] = await store.xrange(store.keys.governorDecisions(), '-', '+');
    expect(ev!.fields).toEqual({
      plan_id: '',
      symbol: '',
      decision: 'DISARMED',
      reason: 'maintenance',
      timestamp: '1769342400.000',
      by: 'ops',
    });
    // a fleet reader may take any entry of the fleet's events stream for a disarm: none there
    expect(await store.xlen(store.keys.governorEvents())).toBe(0);
    await store.close();
  });
});
