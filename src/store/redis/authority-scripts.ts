/**
 * The authorities' Lua scripts (grantPermit-5, decideOnce-3, grantCloseQty-3,
 * applyLedgerResults-N, seedLedgers-N) on an ioredis client (scripts.ts loads them), and the one
 * place that turns their closed sets of return codes into typed outcomes.
 */
import type { CommandClient } from './connection.js';
import {
  GRANT_CLOSE_CODES,
  GRANT_CODES,
  LEDGER_CODES,
  type DecideOnceRequest,
  type GrantCloseCode,
  type GrantCloseQtyRequest,
  type GrantCode,
  type GrantPermitOutcome,
  type GrantPermitRequest,
  type LedgerBatchRequest,
  type LedgerSeedRequest,
  type LedgerWriteCode,
} from '../port.js';
import { defineScript, ScriptReplyError, type ScriptRunner } from './scripts.js';
import { fieldArgs } from './streams.js';

export const DECIDE_CODES = ['written', 'already_decided'] as const;

/** Ledgers per seedLedgers-N call: each call stays short on the server. */
export const SEED_BATCH = 500;

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

export function parseGrantCloseReply(reply: unknown): GrantCloseCode {
  const code = text(reply);
  if (code !== null && (GRANT_CLOSE_CODES as readonly string[]).includes(code)) return code as GrantCloseCode;
  throw new ScriptReplyError('grantCloseQty', reply);
}

export function parseLedgerBatchReply(reply: unknown, entries: number): LedgerWriteCode[] {
  if (!Array.isArray(reply)) throw new ScriptReplyError('applyLedgerResults', reply);
  const codes = reply.map(text);
  const known = (c: string | null) => c !== null && (LEDGER_CODES as readonly string[]).includes(c);
  // Every entry has a code, or the codes stop at the first conflict.
  const complete = codes.length === entries || (codes.length < entries && codes.at(-1) === 'conflict');
  if (!complete || !codes.every(known) || codes.slice(0, -1).includes('conflict')) {
    throw new ScriptReplyError('applyLedgerResults', reply);
  }
  return codes as LedgerWriteCode[];
}

export function parseSeedReply(reply: unknown, ledgers: number): boolean[] {
  if (!Array.isArray(reply) || reply.length !== ledgers || reply.some((v) => v !== 0 && v !== 1)) {
    throw new ScriptReplyError('seedLedgers', reply);
  }
  return reply.map((v) => v === 1);
}

export class AuthorityScripts {
  private readonly run: Record<
    'grantPermit' | 'decideOnce' | 'grantCloseQty' | 'applyLedgerResults' | 'seedLedgers',
    ScriptRunner
  >;

  constructor(private readonly client: CommandClient) {
    this.run = {
      grantPermit: defineScript(client, 'grantPermit-5.lua'),
      decideOnce: defineScript(client, 'decideOnce-3.lua'),
      grantCloseQty: defineScript(client, 'grantCloseQty-3.lua'),
      applyLedgerResults: defineScript(client, 'applyLedgerResults-N.lua'),
      seedLedgers: defineScript(client, 'seedLedgers-N.lua'),
    };
  }

  async grantPermit(r: GrantPermitRequest): Promise<GrantPermitOutcome> {
    const reply = await this.run.grantPermit(
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
      r.renewHistoryTtl ? '1' : '0',
    );
    return parseGrantReply(reply);
  }

  async decideOnce(r: DecideOnceRequest): Promise<boolean> {
    const reply = await this.run.decideOnce(
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

  async grantCloseQty(r: GrantCloseQtyRequest): Promise<GrantCloseCode> {
    const reply = await this.run.grantCloseQty(
      r.decisionKey,
      r.permitKey,
      r.reservationKey,
      r.markerValue,
      r.markerTtlSec,
      r.permitBody,
      r.permitTtlSec,
      r.expectSeq,
      r.field,
      r.value,
      r.grantedAt,
      r.reservationTtlSec,
      ...r.dropFields,
    );
    return parseGrantCloseReply(reply);
  }

  async applyLedgerResults(r: LedgerBatchRequest): Promise<LedgerWriteCode[]> {
    if (r.entries.length === 0) return [];
    const ledgers = [...new Set(r.entries.flatMap((e) => (e.ledgerKey === null ? [] : [e.ledgerKey])))];
    const index = new Map(ledgers.map((k, i) => [k, i + 2]));
    const args = r.entries.flatMap((e) =>
      e.ledgerKey === null
        ? [e.entryId, '0', 'any', '', '[]', '0']
        : [
            e.entryId,
            String(index.get(e.ledgerKey)),
            e.expect.kind,
            e.expect.kind === 'value' ? e.expect.lastKnownAmt : '',
            JSON.stringify(fieldArgs(e.fields)),
            e.renewTtl ? '1' : '0',
          ],
    );
    const keys = [r.cursorKey, ...ledgers];
    const reply = await this.run.applyLedgerResults(keys.length, ...keys, r.ttlSec, ...args);
    return parseLedgerBatchReply(reply, r.entries.length);
  }

  async seedLedgers(r: LedgerSeedRequest): Promise<boolean[]> {
    const out: boolean[] = [];
    for (let i = 0; i < r.ledgers.length; i += SEED_BATCH) {
      const part = r.ledgers.slice(i, i + SEED_BATCH);
      // Almost every refresh finds every ledger: a keys-only EXISTS says so without building and
      // sending 500 ledgers' seed values (~4 ms of this process's thread in one go, every 5 s).
      // When any is missing, the script decides each key atomically, as before.
      if ((await this.client.exists(...part.map((l) => l.ledgerKey))) === part.length) {
        for (let k = 0; k < part.length; k++) out.push(false);
        continue;
      }
      const reply = await this.run.seedLedgers(
        part.length,
        ...part.map((l) => l.ledgerKey),
        r.ttlSec,
        ...part.map((l) => JSON.stringify(fieldArgs(l.fields))),
      );
      out.push(...parseSeedReply(reply, part.length));
    }
    return out;
  }
}
