/**
 * The paper account's user-data-stream listenKey, as Binance USD-M keeps it: one active key per
 * account; POST returns it (or a new one) and extends it, PUT extends it, DELETE closes it; a
 * key lapses 60 minutes after the last POST or PUT. Time is the paper exchange's clock, so tests
 * move it instead of waiting.
 */
import { randomInt } from 'node:crypto';

/** Binance: "A User Data Stream listenKey is valid for 60 minutes after creation." */
export const LISTEN_KEY_TTL_MS = 60 * 60_000;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 64 letters and digits, the shape of Binance's keys. */
function newKey(): string {
  let key = '';
  for (let i = 0; i < 64; i++) key += ALPHABET[randomInt(ALPHABET.length)];
  return key;
}

export class ListenKeyBook {
  private active: { key: string; expiresAt: number } | null = null;
  /** Keys that lapsed (or were expired by a fault) and whose streams are not yet told. */
  private lapsed: string[] = [];

  /** POST: the active key extended, or a new one when none is active. */
  open(now: number): string {
    this.sweep(now);
    if (!this.active) this.active = { key: newKey(), expiresAt: 0 };
    this.active.expiresAt = now + LISTEN_KEY_TTL_MS;
    return this.active.key;
  }

  /**
   * PUT: extends the active key. USD-M's PUT takes no parameter (the API key names the account);
   * one that names a key other than the active one is refused like a missing key. Null: -1125.
   */
  keepalive(now: number, key: string | null): string | null {
    this.sweep(now);
    if (!this.active || (key !== null && key !== this.active.key)) return null;
    this.active.expiresAt = now + LISTEN_KEY_TTL_MS;
    return this.active.key;
  }

  /** DELETE: the closed key, or null when none was active (closing is then a no-op, as on Binance). */
  close(now: number): string | null {
    this.sweep(now);
    const key = this.active?.key ?? null;
    this.active = null;
    return key;
  }

  /** Whether a stream may connect with this key now. */
  isActive(key: string, now: number): boolean {
    this.sweep(now);
    return this.active?.key === key;
  }

  /** The fault "expire the listenKey now": the active key lapses at once. */
  expireNow(): string | null {
    const key = this.active?.key ?? null;
    if (key) this.lapsed.push(key);
    this.active = null;
    return key;
  }

  /** Keys that lapsed since the last call, each reported once. */
  takeLapsed(now: number): string[] {
    this.sweep(now);
    const out = this.lapsed;
    this.lapsed = [];
    return out;
  }

  /** For GET /paper/state. */
  view(): { listenKey: string; expiresAt: number } | null {
    return this.active ? { listenKey: this.active.key, expiresAt: this.active.expiresAt } : null;
  }

  private sweep(now: number): void {
    if (this.active && now >= this.active.expiresAt) {
      this.lapsed.push(this.active.key);
      this.active = null;
    }
  }
}
