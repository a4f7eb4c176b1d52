/**
 * Binance error codes and HTTP statuses → short stable reasons (a closed set metrics label by).
 * Always read the numeric code; the message is kept for logs only.
 */

export const CODE_REASONS: Readonly<Record<number, string>> = {
  [-1000]: 'unknown_status',
  [-1003]: 'rate_limited',
  [-1006]: 'unknown_status_unexpected_response',
  [-1007]: 'unknown_status_timeout',
  [-1015]: 'too_many_orders',
  [-1021]: 'timestamp_outside_recv_window',
  [-1022]: 'invalid_signature',
  [-1102]: 'bad_parameter',
  [-1111]: 'precision_invalid',
  [-1116]: 'invalid_order_type',
  [-1117]: 'invalid_side',
  [-1121]: 'invalid_symbol',
  [-1125]: 'listen_key_not_found',
  [-2011]: 'cancel_rejected',
  [-2013]: 'order_not_found',
  [-2015]: 'invalid_api_key',
  [-2019]: 'margin_insufficient',
  [-2021]: 'order_would_immediately_trigger',
  [-2022]: 'reduce_only_rejected',
  [-2024]: 'position_not_sufficient',
  [-4002]: 'price_above_max_price',
  [-4003]: 'quantity_not_positive',
  [-4004]: 'quantity_below_min',
  [-4005]: 'quantity_above_max',
  [-4007]: 'stop_price_above_max_price',
  [-4013]: 'price_below_min_price',
  [-4014]: 'price_not_on_tick',
  [-4015]: 'invalid_client_order_id',
  [-4116]: 'duplicate_client_order_id',
  [-4118]: 'reduce_only_over_open_orders',
  [-4120]: 'use_algo_endpoint',
  [-4164]: 'notional_too_small',
  [-5028]: 'timestamp_outside_engine_recv_window',
};

/** Codes after which an order's fate is unknown: query by client order id before anything else. */
export const UNKNOWN_STATUS_CODES: ReadonlySet<number> = new Set([-1000, -1006, -1007]);

export function reasonForStatus(status: number): string {
  if (status === 429) return 'rate_limited';
  if (status === 418) return 'ip_banned';
  if (status === 403) return 'waf_blocked';
  if (status === 408) return 'exchange_timeout';
  if (status >= 500) return 'exchange_unavailable';
  if (status >= 400) return 'bad_request';
  return 'bad_response';
}

/** The reason for an error answer: the numeric code wins, then the HTTP status class. */
export function reasonFor(status: number, code: number | null): string {
  if (status === 429 || status === 418 || status === 403) return reasonForStatus(status);
  if (code !== null) {
    const known = CODE_REASONS[code];
    if (known) return known;
  }
  if (status >= 500) return 'exchange_unavailable';
  return code !== null ? `binance_error_${Math.abs(code)}` : reasonForStatus(status);
}

/**
 * Whether an error answer to an order request leaves the order's fate unknown. A 503 "Unknown
 * error, please check your request or try again later" may have executed; so may any 5XX we
 * cannot classify. Only the two 503 texts Binance documents as "not executed" are definite.
 */
export function isOrderOutcomeUnknown(status: number, code: number | null, message: string): boolean {
  if (code !== null && UNKNOWN_STATUS_CODES.has(code)) return true;
  if (status === 408) return true;
  if (status >= 500) return !isDefinitelyNotExecuted(status, message);
  return false;
}

export function isDefinitelyNotExecuted(status: number, message: string): boolean {
  if (status !== 503) return false;
  return /^service unavailable/i.test(message) || /^internal error; unable to process/i.test(message);
}
