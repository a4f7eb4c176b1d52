/** A raw signed HTTP client for testing the paper exchange without the adapter. */
import { createHmac } from 'node:crypto';

export const KEY = 'paper-key';
export const SECRET = 'paper-secret';

export interface RawAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

export async function raw(
  url: string,
  method: string,
  path: string,
  params: Record<string, string>,
  opts: { signed?: boolean; inBody?: string[]; key?: string; secret?: string; timestamp?: number } = {},
): Promise<RawAnswer> {
  const all = { ...params };
  if (opts.signed !== false) {
    all.timestamp = String(opts.timestamp ?? Date.now());
    all.recvWindow = all.recvWindow ?? '5000';
  }
  const inBody = new Set(opts.inBody ?? []);
  const query = Object.entries(all)
    .filter(([k]) => !inBody.has(k))
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  const body = Object.entries(all)
    .filter(([k]) => inBody.has(k))
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  let q = query;
  if (opts.signed !== false) {
    const sig = createHmac('sha256', opts.secret ?? SECRET)
      .update(query + body)
      .digest('hex');
    q = query ? `${query}&signature=${sig}` : `signature=${sig}`;
  }
  const res = await fetch(`${url}${path}${q ? `?${q}` : ''}`, {
    method,
    headers: {
      'X-MBX-APIKEY': opts.key ?? KEY,
      ...(body ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(body ? { body } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** The parameters of a reduce-only MARKET SELL that answers with its fill (newOrderRespType RESULT). */
export const reduceOnlySell = (symbol: string, quantity: string, id: string) => ({
  symbol,
  side: 'SELL',
  type: 'MARKET',
  quantity,
  reduceOnly: 'true',
  newClientOrderId: id,
  newOrderRespType: 'RESULT',
});
