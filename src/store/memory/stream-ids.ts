/** Stream ids `<ms>-<seq>` and glob matching for the memory adapter (pure). */

export interface Sid {
  ms: number;
  seq: number;
}

export const MIN_SID: Sid = { ms: 0, seq: 0 };
export const MAX_SID: Sid = { ms: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER };

export function parseSid(text: string, bound: 'start' | 'end'): Sid {
  if (text === '-') return MIN_SID;
  if (text === '+') return MAX_SID;
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new Error('ERR Invalid stream ID specified as stream command argument');
  const ms = Number(m[1]);
  const seq = m[2] !== undefined ? Number(m[2]) : bound === 'start' ? 0 : Number.MAX_SAFE_INTEGER;
  return { ms, seq };
}

export function formatSid(id: Sid): string {
  return `${id.ms}-${id.seq}`;
}

export function cmpSid(a: Sid, b: Sid): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.seq - b.seq;
}

/** Redis-style glob: * ? [abc] [^a] [a-z] and backslash escapes. */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) {
      re += escapeRe(glob[++i]!);
    } else if (c === '*') {
      re += '[\\s\\S]*';
    } else if (c === '?') {
      re += '[\\s\\S]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else {
      re += escapeRe(c);
    }
  }
  return new RegExp(re + '$');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
