import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const hasPython = spawnSync('python3', ['--version']).status === 0;
const here = (p: string) => new URL(p, import.meta.url).pathname;

describe.skipIf(!hasPython)('generated fixtures', () => {
  it('when the CPython generator runs again then it writes exactly the committed vectors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qa-vectors-'));
    try {
      const out = join(dir, 'v.json');
      const run = spawnSync('python3', [here('./fixtures/gen_pyfloat.py'), out], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status, run.stderr).toBe(0);
      const fresh = JSON.parse(readFileSync(out, 'utf8')) as { python: string };
      const committed = JSON.parse(readFileSync(here('./fixtures/pyfloat-vectors.json'), 'utf8')) as {
        python: string;
      };
      fresh.python = committed.python; // values, not the interpreter's version string, must agree
      expect(fresh).toEqual(committed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
