import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { planIdCommand } from '../../src/cli/plan-id.js';

const vector = {
  harvest_action: 'PARTIAL_75',
  kill_score: '0.539',
  new_sl_proposed: '',
  computed_at_utc: '2026-01-25T00:43:45Z',
};

describe('planIdCommand', () => {
  it('when the contract vector is given then the id and a newline are printed with code 0', () => {
    expect(planIdCommand('BTCUSDT', JSON.stringify(vector))).toEqual({
      code: 0,
      stdout: '9fc366d9a9b3ef10\n',
      stderr: '',
    });
  });
  it('when the input is not a JSON object of strings then the reason goes to stderr with code 1', () => {
    expect(planIdCommand('BTCUSDT', '{')).toEqual({ code: 1, stdout: '', stderr: 'invalid_json\n' });
    expect(planIdCommand('BTCUSDT', '[1]')).toMatchObject({ code: 1, stderr: 'not_a_json_object\n' });
    expect(planIdCommand('BTCUSDT', '{"kill_score": 0.5}')).toMatchObject({
      code: 1,
      stderr: 'non_string_value:kill_score\n',
    });
  });
  it('when the proposal yields no plan then the parse reason goes to stderr with code 1', () => {
    expect(planIdCommand('BTCUSDT', '{"harvest_action": "HOLD"}')).toMatchObject({
      code: 1,
      stderr: 'missing_kill_score\n',
    });
    expect(planIdCommand('btc', JSON.stringify(vector))).toMatchObject({
      code: 1,
      stderr: 'invalid_symbol\n',
    });
    expect(
      planIdCommand('BTCUSDT', JSON.stringify({ ...vector, computed_at_utc: 'x'.repeat(300) })),
    ).toMatchObject({
      code: 1,
      stderr: 'field_too_long:computed_at_utc\n',
    });
  });
  it('when run as `quantum-apply plan-id BTCUSDT` with the hash on stdin then it prints the id', () => {
    const script =
      "import { main } from './src/cli/main.ts'; process.exitCode = await main(['node', 'cli', 'plan-id', 'BTCUSDT']);";
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      input: JSON.stringify(vector),
      encoding: 'utf8',
      cwd: new URL('../..', import.meta.url).pathname,
      timeout: 20_000,
    });
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
      status: 0,
      stdout: '9fc366d9a9b3ef10\n',
      stderr: '',
    });
  });
});
