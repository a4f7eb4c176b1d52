/**
 * One user data stream per account in a process. Binance answers every listenKey POST on an
 * account with the same key while it is valid, so adapters of one account in one process (tests,
 * benches, tools, or services composed by hand) share one WebSocket, one view and one keepalive:
 * the first adapter opens the stream, each later one takes a reference, and the stream stops when
 * the last one lets go. An account is its API key and its REST and WebSocket bases (the paper
 * exchange and testnet hand out keys of their own).
 *
 * Across processes the key is shared all the same: see UserStreamOptions.closeKeyOnStop for why
 * our services never DELETE it.
 */
import { createHash } from 'node:crypto';
import type { UserStream, UserStreamMetrics } from './user-stream.js';

export interface StreamAccount {
  apiKey: string;
  baseUrl: string;
  wsBaseUrl: string;
}

export interface StreamLease {
  readonly stream: UserStream;
  /** Lets go of the stream (once); the last lease stops it. */
  release(): Promise<void>;
}

interface Entry {
  stream: UserStream;
  /** Frees what the stream alone used (its REST client), after it stopped. */
  close?: () => void;
  users: number;
  /** Every user's metrics: each service's registry sees the one stream. */
  sinks: Set<UserStreamMetrics>;
}

const trimmed = (url: string) => url.replace(/\/+$/, '');

/** The account's key in the map: the API key hashed, so the map never holds it in clear. */
function accountKey(a: StreamAccount): string {
  const key = createHash('sha256').update(a.apiKey).digest('hex');
  return `${key} ${trimmed(a.baseUrl)} ${trimmed(a.wsBaseUrl)}`;
}

export class StreamRegistry {
  private readonly entries = new Map<string, Entry>();

  /**
   * The account's stream, made (and started) by `make` when the process has none; `make` gets
   * the metrics to report to, which pass every report on to each user's own `metrics`, and may
   * return a `close` run after the last user's stop.
   */
  acquire(
    account: StreamAccount,
    make: (metrics: UserStreamMetrics) => { stream: UserStream; close?: () => void },
    metrics?: UserStreamMetrics,
  ): StreamLease {
    const id = accountKey(account);
    let entry = this.entries.get(id);
    if (!entry) {
      const sinks = new Set<UserStreamMetrics>();
      const fanout: UserStreamMetrics = {
        event: (type, outcome) => sinks.forEach((m) => m.event(type, outcome)),
        handover: (cause) => sinks.forEach((m) => m.handover(cause)),
        connect: (outcome) => sinks.forEach((m) => m.connect(outcome)),
        live: (on) => sinks.forEach((m) => m.live(on)),
      };
      if (metrics) sinks.add(metrics);
      entry = { ...make(fanout), users: 0, sinks };
      this.entries.set(id, entry);
    } else if (metrics && !entry.sinks.has(metrics)) {
      entry.sinks.add(metrics);
      // A late user's gauge starts where the stream is, not at 0 until the next change.
      if (entry.stream.state === 'live') metrics.live(true);
    }
    entry.users++;
    const e = entry;
    let released = false;
    return {
      stream: e.stream,
      release: async () => {
        if (released) return;
        released = true;
        if (metrics && e.sinks.delete(metrics) && e.stream.state === 'live') metrics.live(false);
        if (--e.users > 0) return;
        // Out of the map before the stop: a user arriving meanwhile opens a fresh stream.
        if (this.entries.get(id) === e) this.entries.delete(id);
        await e.stream.stop();
        e.close?.();
      },
    };
  }

  /** How many adapters hold the account's stream now (0: none open). */
  users(account: StreamAccount): number {
    return this.entries.get(accountKey(account))?.users ?? 0;
  }
}

/** The process's registry: every adapter uses it unless given its own (tests standing in for processes). */
export const processStreams = new StreamRegistry();
