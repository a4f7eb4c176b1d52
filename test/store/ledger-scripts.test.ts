/** The batch ledger scripts' headers and reply parsing (their behaviour: test/store/contract.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEDGER_CODES } from '../../src/store/port.js';
import { parseLedgerBatchReply, parseSeedReply } from '../../src/store/redis/authority-scripts.js';
import { luaDir } from '../../src/store/redis/scripts.js';

const parts = (file: string) => {
  const src = readFileSync(join(luaDir(), file), 'utf8');
  return { header: src.slice(0, src.indexOf(']]')), body: src.slice(src.indexOf(']]')) };
};

describe('batch ledger scripts', () => {
  it.each(['applyLedgerResults-N.lua', 'seedLedgers-N.lua'])(
    'when %s uses KEYS/ARGV then its header documents them',
    (file) => {
      const { header, body } = parts(file);
      for (const ref of new Set([...body.matchAll(/(KEYS|ARGV)\[(\d+)\]/g)].map((m) => m[0]))) {
        expect(header).toContain(ref);
      }
    },
  );

  it('when applyLedgerResults-N declares its codes then they are the ledger codes, and it returns only those', () => {
    const { header, body } = parts('applyLedgerResults-N.lua');
    const declared = [...(header.split('Output:')[1] ?? '').matchAll(/^\s+'([a-z_]+)'/gm)].map((m) => m[1]);
    const returned = [...new Set([...body.matchAll(/out\[#out \+ 1\] = '([a-z_]+)'/g)].map((m) => m[1]))];
    expect(declared.sort()).toEqual([...LEDGER_CODES].sort());
    expect(returned.sort()).toEqual([...LEDGER_CODES].sort());
  });

  it('when a batch reply is parsed then only a code per entry, or codes ending at the first conflict, pass', () => {
    expect(parseLedgerBatchReply(['applied', 'already_applied'], 2)).toEqual(['applied', 'already_applied']);
    expect(parseLedgerBatchReply(['applied', 'conflict'], 3)).toEqual(['applied', 'conflict']);
    expect(parseLedgerBatchReply([], 0)).toEqual([]);
    expect(() => parseLedgerBatchReply(['applied'], 2)).toThrow(/unexpected reply/);
    expect(() => parseLedgerBatchReply(['conflict', 'applied'], 2)).toThrow(/unexpected reply/);
    expect(() => parseLedgerBatchReply(['applied', 'what'], 2)).toThrow(/unexpected reply/);
    expect(() => parseLedgerBatchReply('applied', 1)).toThrow(/unexpected reply/);
    expect(parseSeedReply([1, 0], 2)).toEqual([true, false]);
    expect(() => parseSeedReply([1], 2)).toThrow(/unexpected reply/);
    expect(() => parseSeedReply([2, 0], 2)).toThrow(/unexpected reply/);
  });
});
