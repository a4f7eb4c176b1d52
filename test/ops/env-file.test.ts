/** The `--env-file` parser: dotenv-style lines, quotes, comments; a bad line named by number only. */
import { describe, expect, it } from 'vitest';
import { EnvFileError, parseEnvText, withEnvFile } from '../../src/ops/config/env-file.js';

describe('env file', () => {
  it('when lines use export, quotes and comments then each value is read as written', () => {
    const text = [
      '\uFEFF# header',
      '',
      'A=plain value  # comment',
      'export B = spaced',
      "C='single # kept'",
      'D="double \\"q\\" and\\nnewline" # comment',
      'E=',
      'F=a#b',
      '  G=indented\r',
    ].join('\n');
    expect(parseEnvText(text)).toEqual({
      A: 'plain value',
      B: 'spaced',
      C: 'single # kept',
      D: 'double "q" and\nnewline',
      E: '',
      F: 'a#b',
      G: 'indented',
    });
  });

  it.each([
    ['no equals sign', 'JUST_A_NAME'],
    ['a bad name', '1ABC=x'],
    ['an unclosed double quote', 'S="secret-771'],
    ['an unclosed single quote', "S='secret-771"],
    ['text after the closing quote', 'S="a"secret-771'],
  ])('when a line has %s then the error names its number, never its text', (_n, line) => {
    const parse = () => parseEnvText(`OK=1\n${line}\n`, 'env file x.env');
    expect(parse).toThrow(EnvFileError);
    expect(parse).toThrow('env file x.env: line 2 ');
    try {
      parse();
    } catch (e) {
      expect((e as Error).message).not.toContain('secret-771');
    }
  });

  it('when the environment and the file both set a variable then the environment wins', () => {
    expect(withEnvFile({ A: 'env', C: undefined }, { A: 'file', B: 'file', C: 'file' })).toEqual({
      A: 'env',
      B: 'file',
      C: 'file',
    });
  });
});
