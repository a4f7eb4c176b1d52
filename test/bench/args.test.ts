import { describe, expect, it } from 'vitest';
import { parseBenchArgs, type ArgSpec } from '../../bench/lib/args.js';

const spec: ArgSpec = { values: ['rate', 'env'], flags: ['no-build'], usage: 'usage: bench [--rate R]' };

class Exit extends Error {
  constructor(
    readonly code: number,
    readonly text: string,
  ) {
    super(text);
  }
}
const exit = (code: number, text: string): never => {
  throw new Exit(code, text);
};
const refusal = (raw: string[]) => {
  try {
    parseBenchArgs(raw, spec, exit);
  } catch (e) {
    return e as Exit;
  }
  throw new Error('accepted');
};

describe('bench arguments', () => {
  it('when options and flags are given then values, repeats and flags are read', () => {
    const a = parseBenchArgs(['--rate', '400', '--no-build', '--env', 'A=1', '--env', 'B=2'], spec, exit);
    expect(a.opt('rate', '100')).toBe('400');
    expect(a.opt('missing', 'd')).toBe('d');
    expect(a.all('env')).toEqual(['A=1', 'B=2']);
    expect(a.flag('no-build')).toBe(true);
    expect(a.flag('write')).toBe(false);
  });

  it('when --help is given then the usage is printed with code 0, before anything runs', () => {
    expect(refusal(['--rate', '1', '--help'])).toMatchObject({ code: 0, text: 'usage: bench [--rate R]\n' });
  });

  it('when an option is unknown or lacks its value then it is refused with code 2 and named', () => {
    expect(refusal(['--rates', '400'])).toMatchObject({ code: 2 });
    expect(refusal(['--rates', '400']).text).toMatch(/^unknown argument: --rates\n/);
    expect(refusal(['400'])).toMatchObject({ code: 2 });
    expect(refusal(['--rate']).text).toMatch(/^--rate needs a value/);
    expect(refusal(['--rate', '--no-build']).text).toMatch(/^--rate needs a value/);
  });
});
