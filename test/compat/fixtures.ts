/** The fleet's recorded samples (fixtures/README.md), typed for the compatibility suite. */
import { readFileSync } from 'node:fs';
import type { OrderFill } from '../../src/exchange/port.js';

export interface StreamSample {
  id: string;
  fields: Record<string, string>;
}

export interface PermitSample {
  key: string;
  ttl: number;
  body: Record<string, unknown>;
}

export interface ProposalSample {
  symbol: string;
  fields: Record<string, string>;
  plan_id: string;
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

export const fleet = {
  proposals: () => load<ProposalSample[]>('proposals-fed.json'),
  planEntries: () => load<StreamSample[]>('plan-entries.json'),
  results: () => load<StreamSample[]>('result-entries-first-per-plan.json'),
  ackResults: () => load<StreamSample[]>('result-entries-ack-response.json'),
  permits: () => load<PermitSample[]>('permit-bodies.json'),
  metrics: (service: 'apply' | 'governor' | 'p33') =>
    readFileSync(new URL(`./fixtures/metrics-${service}.txt`, import.meta.url), 'utf8'),
};

/** The positions the fleet's exchange held when the samples were recorded. */
export const RECORDED_POSITIONS = { BTCUSDT: 0.5, ETHUSDT: -2, SOLUSDT: 60 } as const;

/** An order as the exchange reports it right after an ACK answer: working, nothing filled yet. */
export const ackedOrder = (symbol: string, side: 'BUY' | 'SELL', orderId = '4000000001'): OrderFill => ({
  orderId,
  clientOrderId: 'fleet',
  symbol,
  side,
  status: 'NEW',
  origQty: '1',
  executedQty: '0',
  avgPrice: '0',
  reduceOnly: true,
});
