/**
 * Runtime fault injection for the paper exchange. A fault matches requests by path prefix and
 * method, applies to the next `count` matches (or each match with `probability`), and says what
 * goes wrong: added latency, a 5XX before processing, a 503 "unknown" after a real fill, 429/418
 * with Retry-After, a request never answered, or a socket dropped after the fill.
 */
import { z } from 'zod';

export const faultSchema = z
  .object({
    endpoint: z.string().startsWith('/').optional(),
    method: z.enum(['GET', 'POST', 'DELETE', 'PUT']).optional(),
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    status5xx: z.number().int().min(500).max(599).optional(),
    unknownAfterFill: z.boolean().optional(),
    rateLimit: z
      .object({ status: z.union([z.literal(429), z.literal(418)]), retryAfterSec: z.number().int().min(0) })
      .optional(),
    /** Never answer; the request is not processed. */
    timeout: z.boolean().optional(),
    /** Process the request (fill), then never answer. */
    timeoutAfterFill: z.boolean().optional(),
    /** Process the request (fill), then destroy the socket without an answer. */
    dropAfterFill: z.boolean().optional(),
    /** Answer 200 with a body that is not JSON, after processing. */
    garbageAfterFill: z.boolean().optional(),
    count: z.number().int().min(1).optional(),
    /** Let this many matching requests through first (e.g. the query before a send). */
    skip: z.number().int().min(0).optional(),
    probability: z.number().min(0).max(1).optional(),
  })
  .strict();

export type FaultSpec = z.infer<typeof faultSchema>;

/** A fault as `list()` shows it: its spec, with `remaining` uses and `skip` as they stand now. */
export type ActiveFaultView = FaultSpec & { remaining?: number };

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
  skip: number;
}

export class FaultController {
  private active: ActiveFault[] = [];
  /** How many requests each fault was applied to, in order of `set`/`add`. */
  readonly applied: number[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  /** Replaces every fault with these (an empty list clears). */
  set(specs: FaultSpec | FaultSpec[]): void {
    this.active = [];
    for (const s of Array.isArray(specs) ? specs : [specs]) this.add(s);
  }

  add(spec: FaultSpec): void {
    const parsed = faultSchema.parse(spec);
    this.active.push({
      spec: parsed,
      remaining: parsed.count ?? Number.POSITIVE_INFINITY,
      skip: parsed.skip ?? 0,
    });
  }

  clear(): void {
    this.active = [];
  }

  /**
   * The faults still armed, each as set plus what remains of it: `remaining` uses of a counted
   * fault, `skip` requests still let through first. A fault that has used its count is gone, so
   * `GET /paper/faults` never shows a fault that can no longer fire.
   */
  list(): ActiveFaultView[] {
    return this.active.map((a) => {
      const view: ActiveFaultView = { ...a.spec };
      if (a.spec.count !== undefined) view.remaining = a.remaining;
      if (a.spec.skip !== undefined) view.skip = a.skip;
      return view;
    });
  }

  /** The first fault matching this request, consuming one of its uses. */
  take(method: string, path: string): FaultSpec | null {
    for (const a of this.active) {
      if (a.spec.method && a.spec.method !== method) continue;
      if (a.spec.endpoint && !path.startsWith(a.spec.endpoint)) continue;
      if (a.spec.probability !== undefined && this.random() >= a.spec.probability) continue;
      if (a.skip > 0) {
        a.skip -= 1;
        continue;
      }
      a.remaining -= 1;
      if (a.remaining <= 0) this.active = this.active.filter((x) => x !== a);
      return a.spec;
    }
    return null;
  }
}

export function describeFault(f: FaultSpec): string {
  if (f.rateLimit) return `rate_limit_${f.rateLimit.status}`;
  if (f.status5xx) return `status_${f.status5xx}`;
  if (f.unknownAfterFill) return 'unknown_after_fill';
  if (f.timeout) return 'timeout';
  if (f.timeoutAfterFill) return 'timeout_after_fill';
  if (f.dropAfterFill) return 'drop_after_fill';
  if (f.garbageAfterFill) return 'garbage_after_fill';
  return f.latencyMs ? `latency_${f.latencyMs}` : 'none';
}
