import { describe, expect, it } from 'vitest';
import { replaceMarkedBlock } from '../../bench/lib/doc.js';

const doc = [
  '# Benchmarks',
  '',
  '## Hand-off',
  '',
  'Prose a person wrote.',
  '',
  '<!-- bench:handoff:begin -->',
  '| old | table |',
  '<!-- bench:handoff:end -->',
  '',
  'More prose.',
  '<!-- bench:venue:begin -->',
  'venue figures',
  '<!-- bench:venue:end -->',
  '',
].join('\n');

describe('marked block replacement', () => {
  it('when a bench writes its block then only the text between its markers changes', () => {
    const out = replaceMarkedBlock(doc, 'handoff', '\n| new | table |\n\n');
    expect(out).toBe(doc.replace('| old | table |', '| new | table |'));
  });

  it('when the block is written twice then the document is the same as after once', () => {
    const once = replaceMarkedBlock(doc, 'venue', 'new venue figures');
    expect(replaceMarkedBlock(once, 'venue', 'new venue figures')).toBe(once);
    expect(once).toContain('<!-- bench:venue:begin -->\nnew venue figures\n<!-- bench:venue:end -->');
    expect(once).toContain('| old | table |');
  });

  it('when the markers are missing, repeated or misordered then it refuses and names them', () => {
    expect(() => replaceMarkedBlock(doc, 'floor', 'x')).toThrow('<!-- bench:floor:begin -->');
    expect(() => replaceMarkedBlock(`${doc}<!-- bench:venue:end -->\n`, 'venue', 'x')).toThrow(/exactly one/);
    const swapped = '<!-- bench:a:end -->\n<!-- bench:a:begin -->\n';
    expect(() => replaceMarkedBlock(swapped, 'a', 'x')).toThrow(/exactly one/);
  });
});
