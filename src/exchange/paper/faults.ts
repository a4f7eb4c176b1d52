/**
 * Runtime fault injection for the paper exchange. A request fault matches requests by path prefix
 * and method, applies to the next `count` matches (or each match with `probability`), and says
 * what goes wrong: added latency, a 5XX before processing, a 503 "unknown" after a real fill,
 * 429/418 with Retry-After, a request never answered, or a socket dropped after the fill.
 * A `stream` fault acts on the user data stream instead (user-stream.ts): `drop` and `expire`
 * act once, when set; `silent`, `delay` and `reorder` act on the events sent while armed (`count`
 * events, or until cleared).
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
    /**
     * The user data stream: `drop` cuts every connection now; `expire` lapses the listenKey now
     * (listenKeyExpired, then close); `silent` keeps the sockets but sends nothing, pings and
     * pongs included (the events are lost); `delay` sends each event `delayMs` late; `reorder`
     * holds an event back and sends it after the next one.
     */
    stream: z.enum(['drop', 'expire', 'silent', 'delay', 'reorder']).optional(),
    delayMs: z.number().int().min(0).max(600_000).optional(),
    count: z.number().int().min(1).optional(),
    /** Let this many matching requests through first (e.g. the query before a send). */
    skip: z.number().int().min(0).optional(),
    probability: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((f) => (f.stream === 'delay') === (f.delayMs !== undefined), {
    message: 'delayMs goes with stream "delay", and stream "delay" needs delayMs',
  })
  .refine((f) => f.stream === undefined || (f.endpoint === undefined && f.method === undefined), {
    message: 'a stream fault matches no endpoint or method',
  });

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
  private readonly watchers = new Set<() => void>();
  /** How many requests each fault was applied to, in order of `set`/`add`. */
  readonly applied: number[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  /** Calls `watcher` after every set/add/clear (the user stream acts on `drop`/`expire` then). */
  watch(watcher: () => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** Replaces every fault with these (an empty list clears). */
  set(specs: FaultSpec | FaultSpec[]): void {
    this.active = [];
    for (const s of Array.isArray(specs) ? specs : [specs]) this.push(s);
    this.changed();
  }

  add(spec: FaultSpec): void {
    this.push(spec);
    this.changed();
  }

  clear(): void {
    this.active = [];
    this.changed();
  }

  private push(spec: FaultSpec): void {
    const parsed = faultSchema.parse(spec);
    this.active.push({
      spec: parsed,
      remaining: parsed.count ?? Number.POSITIVE_INFINITY,
      skip: parsed.skip ?? 0,
    });
  }

  private changed(): void {
    for (const w of this.watchers) w();
  }

  /** Removes and returns the armed one-shot stream faults of this kind (`drop`, `expire`). */
  takeOneShot(kind: 'drop' | 'expire'): FaultSpec[] {
    const hit = this.active.filter((a) => a.spec.stream === kind);
    this.active = this.active.filter((a) => a.spec.stream !== kind);
    return hit.map((a) => a.spec);
  }

  /** Whether a `silent` stream fault is armed (pings stop too). */
  streamSilent(): boolean {
    return this.active.some((a) => a.spec.stream === 'silent');
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

  /** The first request fault matching this request, consuming one of its uses. */
  take(method: string, path: string): FaultSpec | null {
    return this.consume(
      (s) =>
        s.stream === undefined &&
        (!s.method || s.method === method) &&
        (!s.endpoint || path.startsWith(s.endpoint)),
    );
  }

  /** The first `silent`/`delay`/`reorder` stream fault for the next event, consuming one use. */
  takeStreamEvent(): FaultSpec | null {
    return this.consume((s) => s.stream === 'silent' || s.stream === 'delay' || s.stream === 'reorder');
  }

  private consume(matches: (s: FaultSpec) => boolean): FaultSpec | null {
    for (const a of this.active) {
      if (!matches(a.spec)) continue;
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
