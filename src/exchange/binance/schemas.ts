/** Zod schemas for every Binance answer the adapter reads; anything else is `bad_response`. */
import { z } from 'zod';

const decimalText = z.string().regex(/^-?\d+(\.\d+)?$/);
const numeric = z.union([z.number(), decimalText.transform(Number)]);
const intLike = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);

export const serverTimeSchema = z.object({ serverTime: z.number().int().positive() });

const filter = z.object({ filterType: z.string() }).passthrough();

export const exchangeInfoSchema = z.object({
  symbols: z.array(
    z.object({
      symbol: z.string(),
      status: z.string(),
      filters: z.array(filter),
    }),
  ),
});

export const lotFilterSchema = z.object({ minQty: decimalText, maxQty: decimalText, stepSize: decimalText });
export const priceFilterSchema = z.object({
  tickSize: decimalText,
  minPrice: decimalText,
  maxPrice: decimalText,
});
export const notionalFilterSchema = z.object({ notional: decimalText });

export const positionRowSchema = z.object({
  symbol: z.string(),
  positionSide: z.string().optional(),
  positionAmt: decimalText,
  entryPrice: numeric,
  markPrice: numeric,
  unRealizedProfit: numeric,
  leverage: numeric.optional(),
  updateTime: intLike.optional(),
});
/** The reference for position-rows.ts, which parses positionRisk answers (faster, same output). */
export const positionRiskSchema = z.array(positionRowSchema);
export type BinancePositionRow = z.output<typeof positionRowSchema>;

export const premiumIndexSchema = z.object({ symbol: z.string(), markPrice: numeric });

export const orderSchema = z.object({
  orderId: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  clientOrderId: z.string(),
  symbol: z.string(),
  side: z.enum(['BUY', 'SELL']),
  status: z.string(),
  origQty: decimalText,
  executedQty: decimalText,
  avgPrice: decimalText,
  reduceOnly: z.boolean().optional(),
});
export type BinanceOrder = z.infer<typeof orderSchema>;
export const openOrdersSchema = z.array(orderSchema);
/** GET /fapi/v1/allOrders: the same rows with the time each order was placed. */
export const listedOrdersSchema = z.array(orderSchema.extend({ time: intLike }));

export const algoOrderSchema = z.object({
  algoId: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  clientAlgoId: z.string(),
  symbol: z.string(),
  algoStatus: z.string().optional(),
});
export type AlgoOrder = z.infer<typeof algoOrderSchema>;
export const openAlgoOrdersSchema = z.array(algoOrderSchema);
