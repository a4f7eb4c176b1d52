import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { until } from '../../helpers/wait.js';
import { connectStream } from './user-stream-client.js';

describe('paper-exchange command: the user data stream', () => {
  it('when run with --stream-ping-ms then it names the stream URL, and a stream on it gets a key and pings', async () => {
    let out = '';
    let pings = 0;
    let url = '';
    const code = await main(
      ['node', 'quantum-apply', 'paper-exchange', '--port', '0', '--stream-ping-ms', '20'],
      {
        env: {},
        stdout: (t) => (out += t),
        stderr: (t) => (out += t),
        waitForStop: async () => {
          url = /user stream at (ws:\/\/[^\s]+)\/ws\/<listenKey>/.exec(out)?.[1] ?? '';
          const http = url.replace(/^ws:/, 'http:');
          const res = await fetch(`${http}/fapi/v1/listenKey`, {
            method: 'POST',
            headers: { 'X-MBX-APIKEY': 'paper-key' },
          });
          const { listenKey } = (await res.json()) as { listenKey: string };
          const client = await connectStream(`${url}/private/ws/${listenKey}`);
          await until(() => client.pings >= 2, 8000, 'pings from the CLI paper exchange');
          pings = client.pings;
          client.ws.terminate();
          return 'test';
        },
      },
    );
    expect(code).toBe(0);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(pings).toBeGreaterThanOrEqual(2);
  });

  it('when --stream-ping-ms is not a positive integer then the command refuses it', async () => {
    let err = '';
    const code = await main(['node', 'quantum-apply', 'paper-exchange', '--stream-ping-ms', '0'], {
      env: {},
      stdout: () => undefined,
      stderr: (t) => (err += t),
    });
    expect(code).not.toBe(0);
    expect(err).toContain('--stream-ping-ms');
  });
});
