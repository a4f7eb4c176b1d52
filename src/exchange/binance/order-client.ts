/**
 * Order requests, sent with undici on a fresh connection each (a refused connect proves the
 * order never left; a pooled socket the server had closed would fail after the bytes left).
 * Measured: the SDK's axios path cost ~0.6 ms per order over a raw signed POST at p50 (see the
 * Exchange section of BENCHMARKS.md), which is most of what separated the apply layer's
 * last-permit → order p50 from its 2 ms target. Reads keep going through the SDK.
 * Signed parameters travel in the query string (as the SDK sends them); the signature is over
 * exactly the bytes sent.
 */
import { Client } from 'undici';
import { signPayload } from './sign.js';

export type Params = Record<string, string | number | boolean>;

export interface OrderResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  data: unknown;
}

/** An error carrying a Node/undici code, so the transport classifies it like the SDK's. */
export class OrderSendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function queryOf(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) q.append(k, String(v));
  return q.toString();
}

export async function sendSignedOrder(args: {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
  method: 'POST' | 'DELETE' | 'GET';
  path: string;
  params: Params;
  timestampMs: number;
  recvWindow: number;
  timeoutMs: number;
}): Promise<OrderResponse> {
  const url = new URL(args.baseUrl);
  const basePath = url.pathname.replace(/\/+$/, '');
  const unsigned = queryOf({ ...args.params, recvWindow: args.recvWindow, timestamp: args.timestampMs });
  const query = `${unsigned}&signature=${signPayload(args.apiSecret, unsigned)}`;
  const client = new Client(url.origin, {
    connect: { timeout: args.timeoutMs },
    headersTimeout: args.timeoutMs,
    bodyTimeout: args.timeoutMs,
    pipelining: 1,
  });
  try {
    const res = await client.request({
      method: args.method,
      path: `${basePath}/${args.path.replace(/^\//, '')}?${query}`,
      headers: { 'X-MBX-APIKEY': args.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
      signal: AbortSignal.timeout(args.timeoutMs),
    });
    const text = await res.body.text();
    let data: unknown = text;
    try {
      data = JSON.parse(text);
    } catch {
      // left as text: an unreadable answer is classified by the caller
    }
    return { status: res.statusCode, headers: res.headers, data };
  } catch (err) {
    throw toSendError(err);
  } finally {
    void client.destroy().catch(() => {});
  }
}

function toSendError(err: unknown): OrderSendError {
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: { code?: unknown } };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : '';
  // undici's names for what the transport already knows from Node's http client.
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  )
    return new OrderSendError('ETIMEDOUT', message);
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || code === 'UND_ERR_ABORTED')
    return new OrderSendError('ETIMEDOUT', message);
  if (code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED')
    return new OrderSendError('ECONNRESET', message);
  return new OrderSendError(code, message);
}
