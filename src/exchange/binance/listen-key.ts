/**
 * The listenKey lifecycle of Binance's user data stream (USER_STREAM endpoints: API key, no
 * signature, weight 1). POST returns the account's key (the active one, extended, when there is
 * one); PUT extends it for 60 minutes; a PUT answering -1125 means the key is gone and a POST
 * makes a new one; DELETE closes the stream of every client of the account, in any process.
 */
import { z } from 'zod';
import { ExchangeError } from '../port.js';
import { failureOf } from './reads.js';
import type { Transport } from './transport.js';

const PATH = '/fapi/v1/listenKey';
const listenKeySchema = z.object({ listenKey: z.string().regex(/^[A-Za-z0-9]{1,128}$/) });

export class ListenKeys {
  constructor(private readonly t: Transport) {}

  /** The account's listenKey (a new one, or the active one extended). */
  async create(): Promise<string> {
    const out = await this.t.call('POST', PATH, {}, { signed: false });
    if (out.kind !== 'ok') throw failureOf(out, PATH);
    const parsed = listenKeySchema.safeParse(out.body);
    if (!parsed.success)
      throw new ExchangeError('bad_response', 'listenKey POST: no listenKey in the answer');
    return parsed.data.listenKey;
  }

  /**
   * Extends the account's key. `gone` when the exchange has none (-1125: POST again), or when it
   * names a key other than `current` (ours was closed, by another process's DELETE, and another
   * POST made a new one): either way no event comes on `current` any more.
   */
  async keepalive(current?: string): Promise<'extended' | 'gone'> {
    const out = await this.t.call('PUT', PATH, {}, { signed: false });
    if (out.kind === 'ok') {
      const named = listenKeySchema.safeParse(out.body);
      // USD-M's PUT answers with the key it extended; an answer without one says nothing either way.
      return named.success && current !== undefined && named.data.listenKey !== current ? 'gone' : 'extended';
    }
    if (out.kind === 'http_error' && out.code === -1125) return 'gone';
    throw failureOf(out, PATH);
  }

  /** Closes the stream; a failure is reported, not thrown (shutdown goes on). */
  async close(): Promise<string | null> {
    const out = await this.t.call('DELETE', PATH, {}, { signed: false });
    return out.kind === 'ok' ? null : failureOf(out, PATH).reason;
  }
}
