/**
 * The plan-entry canonical form is language-neutral: a few lines of Python (json, hmac) compute
 * the same signature as src/domain/plan-signing.ts, so a Python reader can verify (or a Python
 * publisher sign) plan entries too.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PermitKey } from '../../src/domain/permit-signing.js';
import { signPlanFields } from '../../src/domain/plan-signing.js';

const PY = `
import hashlib, hmac, json, sys
fields, secret = json.loads(sys.argv[1]), sys.argv[2].encode()
parts = ["quantum-plan/v1"] + [[k, fields[k]] for k in sorted(fields) if k != "sig"]
mac = hmac.new(secret, json.dumps(parts).encode(), hashlib.sha256).hexdigest()
kid = hmac.new(secret, b"quantum-permit-key-id/v1", hashlib.sha256).hexdigest()[:8]
print("v1:%s:%s" % (kid, mac))
`;
const python = spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;
const SECRET = 'python-compat-plan-secret-0123456789abcdef';

describe.skipIf(!python)('plan entry signatures computed in Python', () => {
  it.each<Record<string, string>>([
    {
      plan_id: '9fc366d9a9b3ef10',
      symbol: 'BTCUSDT',
      action: 'PARTIAL_50',
      kill_score: '0.539',
      new_sl_proposed: '',
      R_net: 'None',
      decision: 'EXECUTE',
      reason_codes: 'kill_score_warning_close_ok',
      steps: '[{"step": "CLOSE_PARTIAL_50", "type": "market_reduce_only", "side": "close", "pct": 50.0}]',
      close_qty: '0.0',
      price: '',
      timestamp: '1769300000',
    },
    { plan_id: 'x', note: 'é \u{1F600} \uFF5E "quoted"\n', '\u{1F600}': 'astral name', '\uFF5E': 'bmp name' },
  ])('when apply signs %j then Python computes the same sig', (fields) => {
    const signed = signPlanFields(fields, new PermitKey(SECRET));
    const r = spawnSync('python3', ['-c', PY, JSON.stringify(signed), SECRET], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(signed.sig);
  });
});
