import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadApplyConfig, loadGovernorConfig, loadP33Config, redactUrl } from '../../src/ops/config.js';
import { loadRedisOnly } from '../../src/cli/commands/arm.js';
import { loadInspectConfig } from '../../src/inspect/config.js';
import { redisUrlProblem } from '../../src/ops/config/redis-url.js';
import { configError } from '../helpers/config-error.js';

const LOADERS = [loadApplyConfig, loadGovernorConfig, loadP33Config, loadRedisOnly, loadInspectConfig];

describe('REDIS_URL with credentials', () => {
  it('when the password holds an unescaped "/" and "@" then every loader refuses REDIS_URL, says how to escape, and never shows the password', () => {
    const url = 'redis://app:p@ss/word@127.0.0.1:6390/0';
    for (const load of LOADERS) {
      const err = configError(() => load({ REDIS_URL: url }));
      expect(err.problems.map((p) => p.variable)).toEqual(['REDIS_URL']);
      expect(err.message).toContain('REDIS_URL: expected');
      expect(err.message).toContain('@ → %40');
      expect(err.message).toContain('/ → %2F');
      expect(err.message).toContain('# → %23');
      expect(err.message).toContain('? → %3F');
      expect(err.message).toContain(': in a user name → %3A');
      expect(err.message).not.toMatch(/p@ss|ss\/word/);
      expect(err.message).toContain('"redis://app:<redacted>@127.0.0.1:6390/0"');
    }
  });

  it.each<[string, string]>([
    ['redis://app:p@ss/word@127.0.0.1:6390/0', 'at_sign_after_host'],
    ['redis://app:pa/ss@10.0.0.5:6390', 'not_a_url'],
    ['redis://app:123/x@10.0.0.5:6390', 'at_sign_after_host'],
    ['redis://app:123?x@10.0.0.5:6390/0', 'at_sign_after_host'],
    ['redis://app:123#x@10.0.0.5:6390/0', 'at_sign_after_host'],
    ['redis://app:p@ss@10.0.0.5:6390', 'at_sign_in_userinfo'],
    ['rediss://h:6380/?password=p@ss', 'at_sign_after_host'],
    ['redis://app:pa#ss@10.0.0.5:6390', 'not_a_url'],
    ['redis://app:pa?ss@10.0.0.5:6390', 'not_a_url'],
    ['redis://h:99999', 'not_a_url'],
    ['redis://h:port', 'not_a_url'],
    ['http://h:6379', 'not_a_url'],
    ['redis://h:6379/0/1', 'path_not_a_db'],
    ['redis://h:6379/db0', 'path_not_a_db'],
    ['redis://h:6379/0#x', 'fragment'],
    ['redis://:pa%zz@h:6379', 'bad_percent_escape'],
    ['redis://:pa ss@h:6379', 'control_or_space'],
    ['redis://:pa\tss@h:6379', 'control_or_space'],
  ])('when REDIS_URL is %j then it is refused (%s)', (url, why) => {
    expect(redisUrlProblem(url)).toBe(why);
    expect(configError(() => loadApplyConfig({ REDIS_URL: url })).problems.map((p) => p.variable)).toEqual([
      'REDIS_URL',
    ]);
  });

  it.each([
    'redis://h:6379',
    'redis://h',
    'redis://h:6379/',
    'redis://:pass@h:6379/2',
    'rediss://user:pa%40ss@h:6380/0',
    'rediss://user:pa%2Fss%23%3F%25@h:6380/0',
    'redis://us%3Aer:pw@h:6379',
    'redis://[::1]:6379',
    'redis://:pw@[fd00::5]:6379/3',
    'rediss://h:6380/?password=pw-1&db=2',
    'redis://h:6379?family=6',
    'redis://h:6379/1?password=p%40ss',
  ])('when REDIS_URL is %j then it is accepted', (url) => {
    expect(redisUrlProblem(url)).toBeNull();
    expect(loadApplyConfig({ REDIS_URL: url }).redis.url).toBe(url.replace(/\/+$/, ''));
  });

  it('when a password is percent-encoded whatever it holds then the URL is accepted (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (pw) => {
        const url = `redis://app:${encodeURIComponent(pw)}@10.0.0.5:6390/0`;
        return redisUrlProblem(url) === null && decodeURIComponent(new URL(url).password) === pw;
      }),
      { numRuns: 300 },
    );
  });

  it('when a password holding reserved characters is not encoded then the URL is refused or names the intended host (property)', () => {
    // Whatever the parser makes of it, a URL we accept must point at the host that was meant.
    const reserved = fc.constantFrom('@', '/', '?', '#', '%', ' ');
    const pwArb = fc
      .tuple(fc.stringMatching(/^[a-z0-9]{0,8}$/), reserved, fc.stringMatching(/^[a-z0-9]{0,8}$/))
      .map(([a, r, b]) => `${a}${r}${b}`);
    fc.assert(
      fc.property(pwArb, (pw) => {
        const url = `redis://app:${pw}@10.0.0.5:6390/0`;
        return redisUrlProblem(url) !== null || new URL(url).hostname === '10.0.0.5';
      }),
      { numRuns: 500 },
    );
  });

  it('when a refused URL carries a password query value with "@" then the error shows none of it', () => {
    const err = configError(() =>
      loadApplyConfig({ REDIS_URL: 'rediss://h:6380/?password=s3cr@t-tail&db=2' }),
    );
    expect(err.message).not.toContain('s3cr');
    expect(err.message).not.toContain('t-tail');
    expect(redactUrl('rediss://h:6380/?password=s3cr@t-tail&db=2')).toBe(
      'rediss://h:<redacted>@<redacted>&db=2',
    );
  });
});
