/**
 * Binance HMAC-SHA256 request signing: hex digest of `totalParams` (query string followed
 * directly by the form body, no separator), keyed with the API secret. Pure; used by the
 * adapter's transport (over the query string it sends) and by the paper exchange.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signPayload(secret: string, totalParams: string): string {
  return createHmac('sha256', secret).update(totalParams, 'utf8').digest('hex');
}

/** Constant-time check of a hex signature over the bytes as received. */
export function verifySignature(secret: string, totalParams: string, signature: string): boolean {
  const expected = Buffer.from(signPayload(secret, totalParams), 'utf8');
  const given = Buffer.from(signature.toLowerCase(), 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
