import { describe, expect, it } from 'vitest';
import { loadApplyConfig, loadGovernorConfig, loadP33Config } from '../../src/ops/config.js';
import { loadRedisOnly } from '../../src/cli/commands/arm.js';
import { loadInspectConfig } from '../../src/inspect/config.js';
import { describeConfig } from '../../src/ops/config/describe.js';
import { parseSentinels } from '../../src/ops/config/redis-sentinel.js';
import { configError } from '../helpers/config-error.js';
import { main } from '../../src/cli/main.js';

const LOADERS = [loadApplyConfig, loadGovernorConfig, loadP33Config, loadRedisOnly, loadInspectConfig];
const BASE = { REDIS_SENTINELS: 's1:26379, s2:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'mymaster' };

describe('REDIS_SENTINELS', () => {
  it('when sentinels and a name are set then every loader reads them, credentials and db from REDIS_URL', () => {
    const env = {
      ...BASE,
      REDIS_URL: 'rediss://app:pw@mymaster/3',
      REDIS_SENTINEL_USERNAME: 'watcher',
      REDIS_SENTINEL_PASSWORD: 'spw',
    };
    for (const load of LOADERS) {
      const redis = load(env).redis;
      expect(redis.sentinel).toEqual({
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        name: 'mymaster',
        username: 'watcher',
        password: 'spw',
      });
      expect(redis.url).toBe('rediss://app:pw@mymaster/3');
      expect(redis.cluster).toBe(false);
      expect(JSON.stringify(describeConfig(load(env)))).not.toMatch(/spw|:pw@/);
    }
  });

  it('when REDIS_URL is unset then the url names the group and REDIS_DB', () => {
    const redis = loadApplyConfig({ ...BASE, REDIS_DB: '2' }).redis;
    expect(redis.url).toBe('redis://mymaster/2');
    expect(redis.sentinel?.username).toBeUndefined();
  });

  it('when REDIS_SENTINELS is unset then there is no sentinel', () => {
    expect(loadApplyConfig({}).redis.sentinel).toBeNull();
  });

  it.each<[Record<string, string>, string[]]>([
    [{ REDIS_URL: 'redis://10.0.0.5:6379' }, ['REDIS_URL']],
    [{ REDIS_URL: 'redis://mymaster:6379' }, ['REDIS_URL']],
    [{ REDIS_CLUSTER: 'true' }, ['REDIS_CLUSTER']],
    [{ REDIS_HOST: 'r1' }, ['REDIS_HOST']],
    [{ REDIS_PORT: '6380' }, ['REDIS_PORT']],
    [{ REDIS_SENTINEL_NAME: '' }, ['REDIS_SENTINEL_NAME']],
    [{ REDIS_SENTINELS: 's1' }, ['REDIS_SENTINELS']],
    [{ REDIS_SENTINELS: 's1:0' }, ['REDIS_SENTINELS']],
    [{ REDIS_SENTINELS: 's1:26379,s2:99999' }, ['REDIS_SENTINELS']],
  ])('when %o is added then the loader refuses naming %o', (extra, vars) => {
    const err = configError(() => loadApplyConfig({ ...BASE, ...extra }));
    expect(err.problems.map((p) => p.variable)).toEqual(vars);
  });

  it('when REDIS_URL names a host then the message says the host must be the group name', () => {
    const err = configError(() =>
      loadApplyConfig({ ...BASE, REDIS_URL: 'redis://u:secretpw@10.0.0.5:6379' }),
    );
    expect(err.message).toContain(
      'REDIS_URL: expected with REDIS_SENTINELS, redis[s]://[user:password@]mymaster[/db]',
    );
    expect(err.message).not.toContain('secretpw');
  });

  it('when the sentinel password is refused then it is not shown', () => {
    const err = configError(() => loadApplyConfig({ ...BASE, REDIS_SENTINEL_PASSWORD: ' spaced-secret ' }));
    expect(err.problems.map((p) => p.variable)).toEqual(['REDIS_SENTINEL_PASSWORD']);
    expect(err.message).not.toContain('spaced-secret');
  });

  it('when the list has blanks between commas then they are ignored; an empty list is refused', () => {
    expect(parseSentinels('a:1,,b:2,')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    expect(parseSentinels(' , ')).toBeNull();
  });
});

describe('acl with REDIS_SENTINELS', () => {
  it('when sentinels are configured then acl prints the sentinel user and says where each part goes', async () => {
    const out: string[] = [];
    const code = await main(['node', 'quantum-apply', 'acl', 'apply'], {
      env: { ...BASE, REDIS_SENTINEL_USERNAME: 'watcher', REDIS_SENTINEL_PASSWORD: 'never-printed' },
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
    });
    const text = out.join('');
    expect(code).toBe(0);
    expect(text).toContain('on the master and every replica');
    expect(text).toContain(
      "redis-cli -p <sentinel port> ACL SETUSER watcher reset on '><sentinel password>' resetchannels '&+switch-master' -@all",
    );
    expect(text).toContain("'+sentinel|get-master-addr-by-name' '+sentinel|sentinels' +subscribe");
    expect(text).not.toContain('never-printed');
  });
});
