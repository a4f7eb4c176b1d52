/**
 * The canonical form is language-neutral: a few lines of Python (json, hmac) compute the same
 * signature as src/domain/permit-signing.ts, so a Python authority can sign permits too.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PermitKey, SIGNED_FIELDS, signPermitBody } from '../../src/domain/permit-signing.js';

const PY = `
import hashlib, hmac, json, sys
body, secret, authority, fields = json.loads(sys.argv[1]), sys.argv[2].encode(), sys.argv[3], json.loads(sys.argv[4])
num = lambda v: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
parts = ["quantum-permit/v1", ["authority", authority], ["plan_id", body.get("plan_id")], ["symbol", body.get("symbol")]]
parts += [[f, num(body.get(f))] for f in fields]
mac = hmac.new(secret, json.dumps(parts).encode(), hashlib.sha256).hexdigest()
kid = hmac.new(secret, b"quantum-permit-key-id/v1", hashlib.sha256).hexdigest()[:8]
print("v1:%s:%s" % (kid, mac))
`;
const python = spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;
const SECRET = 'python-compat-secret-0123456789abcdef';

describe.skipIf(!python)('permit signatures computed in Python', () => {
  it.each([
    [
      'governor',
      {
        granted: true,
        symbol: 'BTCUSDT',
        decision: 'EXECUTE',
        computed_qty: 0.00001,
        computed_notional: 100,
        created_at: 1769300000.123456,
      },
    ],
    [
      'governor',
      {
        granted: true,
        symbol: 'ETHUSDT',
        decision: 'EXECUTE',
        computed_qty: 1e16,
        computed_notional: 0,
        created_at: 1,
      },
    ],
    [
      'p33',
      {
        allow: true,
        symbol: 'SOLUSDT',
        safe_close_qty: 5.25,
        exchange_position_amt: -7,
        ledger_amt: -7,
        created_at: 1769300000.5,
        reason: 'sanity_checks_passed',
      },
    ],
    [
      'p33',
      {
        allow: false,
        symbol: 'SOLUSDT',
        reason: 'stale_exchange_state é',
        context: { age: 12 },
        created_at: 1769300000.5,
      },
    ],
  ] as const)('when %s signs %j then Python computes the same sig', (authority, body) => {
    const signed = signPermitBody(authority, '9fc366d9a9b3ef10', body, 1769300060.5, new PermitKey(SECRET));
    const r = spawnSync(
      'python3',
      ['-c', PY, JSON.stringify(signed), SECRET, authority, JSON.stringify(SIGNED_FIELDS[authority])],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(signed.sig);
  });
});
