/**
 * The authorities' Lua scripts (grantPermit-5, decideOnce-3, applyLedgerResult-2) on an ioredis
 * client: defineCommand (EVALSHA with NOSCRIPT fallback) and the one place that turns their
 * closed sets of return codes into typed outcomes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandClient } from './connection.js';
import {
  GRANT_CODES,
  LEDGER_CODES,
  type DecideOnceRequest,
  type GrantCode,
  type GrantPermitOutcome,
  type GrantPermitRequest,
  type LedgerWriteCode,
  type LedgerWriteRequest,
} from '../port.js';
import { luaDir, ScriptReplyError } from './scripts.js';

export const DECIDE_CODES = ['written', 'already_decided'] as const;

export const AUTHORITY_SCRIPTS = {
  grantPermit: { name: 'qaGrantPermit', file: 'grantPermit-5.lua', keys: 5 },
  decideOnce: { name: 'qaDecideOnce', file: 'decideOnce-3.lua', keys: 3 },
  applyLedgerResult: { name: 'qaApplyLedgerResult', file: 'applyLedgerResult-2.lua', keys: 2 },
} as const;

type Runner = (...args: (string | number)[]) => Promise<unknown>;

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}

/** Numbers go to Lua as text that `tonumber` reads back exactly (shortest round-trip form). */
function num(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`grantPermit: non-finite argument ${n}`);
  return String(n);
}

export function parseGrantReply(reply: unknown): GrantPermitOutcome {
  const arr = Array.isArray(reply) ? reply.map(text) : [];
  const code = arr[0] as GrantCode | null | undefined;
  if (arr.length !== 4 || !code || !(GRANT_CODES as readonly string[]).includes(code)) {
    throw new ScriptReplyError('grantPermit', reply);
  }
  return { code, hourCount: Number(arr[1]), fiveMinCount: Number(arr[2]), dailyTotal: arr[3] ?? '0' };
}

export function parseDecideReply(reply: unknown): boolean {
  const code = text(reply);
  if (code === 'written') return true;
  if (code === 'already_decided') return false;
  throw new ScriptReplyError('decideOnce', reply);
}

export function parseLedgerReply(reply: unknown): LedgerWriteCode {
  const code = text(reply);
  if (code && (LEDGER_CODES as readonly string[]).includes(code)) return code as LedgerWriteCode;
  throw new ScriptReplyError('applyLedgerResult', reply);
}

export class AuthorityScripts {
  constructor(private readonly client: CommandClient) {
    const dir = luaDir();
    for (const s of Object.values(AUTHORITY_SCRIPTS)) {
      client.defineCommand(s.name, { lua: readFileSync(join(dir, s.file), 'utf8'), numberOfKeys: s.keys });
    }
  }

  private run(name: string): Runner {
    return (this.client as unknown as Record<string, Runner>)[name]!.bind(this.client);
  }

  async grantPermit(r: GrantPermitRequest): Promise<GrantPermitOutcome> {
    const reply = await this.run(AUTHORITY_SCRIPTS.grantPermit.name)(
      r.decisionKey,
      r.permitKey,
      r.blockKey,
      r.execKey,
      r.dailyKey,
      num(r.nowSec),
      r.enforce ? '1' : '0',
      num(r.maxPerHour),
      num(r.maxPer5Min),
      num(r.amount),
      num(r.cap),
      r.permitBody,
      r.permitTtlSec,
      r.blockTtlSec,
      r.symbol,
      r.execKeep,
      r.historyTtlSec,
    );
    return parseGrantReply(reply);
  }

  async decideOnce(r: DecideOnceRequest): Promise<boolean> {
    const reply = await this.run(AUTHORITY_SCRIPTS.decideOnce.name)(
      r.decisionKey,
      r.recordKey,
      r.guardKey,
      r.markerValue,
      r.markerTtlSec,
      r.body,
      r.ttlSec,
    );
    return parseDecideReply(reply);
  }

  async applyLedgerResult(r: LedgerWriteRequest): Promise<LedgerWriteCode> {
    const expected = r.expect.kind === 'value' ? r.expect.lastKnownAmt : '';
    const reply = await this.run(AUTHORITY_SCRIPTS.applyLedgerResult.name)(
      r.ledgerKey,
      r.cursorKey,
      r.entryId,
      r.expect.kind,
      expected,
      r.ttlSec,
      ...Object.entries(r.fields).flat(),
    );
    return parseLedgerReply(reply);
  }
}
