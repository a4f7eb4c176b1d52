/**
 * Read queries over the history database (schema.ts): the plan list behind `history`, the rows
 * behind `history stats`, and one plan's rows for `explain`. Typed Kysely queries: every value
 * is a bound parameter.
 */
import { sql, type Kysely } from 'kysely';
import type { Database, DecisionRow, OrderRow, PlanRow, ResultRow } from './schema.js';

export interface HistoryFilter {
  symbol?: string;
  sinceMs?: number;
  untilMs?: number;
  /** Apply's decision: EXECUTE, SKIP, BLOCKED, ERROR. */
  decision?: string;
  /** Found in the plan's reasons, an authority's reason or the result's error. */
  reason?: string;
  limit?: number;
}

/** One plan with everything recorded about it. */
export interface PlanStory {
  plan: PlanRow;
  decisions: DecisionRow[];
  orders: OrderRow[];
  results: ResultRow[];
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--since`/`--until`: a span back from now (`90s`, `30m`, `2h`, `7d`, `1w`) or an ISO-8601 time
 * (`2026-01-25`, `2026-01-25T12:00:00Z`); null when it is neither.
 */
export function parseTimeArg(text: string, nowMs: number): number | null {
  const t = text.trim();
  const span = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(t);
  if (span) return nowMs - Number(span[1]) * UNIT_MS[span[2]!]!;
  if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) return null;
  const ms = Date.parse(t.includes('T') || t.length === 10 ? t : t.replace(' ', 'T'));
  return Number.isFinite(ms) ? ms : null;
}

/** LIKE pattern for "contains `text`", with LIKE's own characters escaped (ESCAPE '\'). */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function filteredPlans(db: Kysely<Database>, f: HistoryFilter) {
  let q = db.selectFrom('plans');
  if (f.symbol !== undefined) q = q.where('plans.symbol', '=', f.symbol);
  if (f.sinceMs !== undefined) q = q.where('plans.at_ms', '>=', f.sinceMs);
  if (f.untilMs !== undefined) q = q.where('plans.at_ms', '<', f.untilMs);
  if (f.decision !== undefined) q = q.where('plans.decision', '=', f.decision);
  if (f.reason !== undefined) {
    const like = containsPattern(f.reason);
    q = q.where((eb) =>
      eb.or([
        sql<boolean>`${eb.ref('plans.reason_codes')} like ${like} escape '\\'`,
        eb.exists(
          eb
            .selectFrom('decisions')
            .select('decisions.plan_id')
            .whereRef('decisions.plan_id', '=', 'plans.plan_id')
            .where(sql<boolean>`${sql.ref('decisions.reason')} like ${like} escape '\\'`),
        ),
        eb.exists(
          eb
            .selectFrom('results')
            .select('results.plan_id')
            .whereRef('results.plan_id', '=', 'plans.plan_id')
            .where(sql<boolean>`${sql.ref('results.error')} like ${like} escape '\\'`),
        ),
      ]),
    );
  }
  return q;
}

/** The rows of these plans' decisions, orders and results, grouped into stories (plans' order kept). */
async function storiesOf(db: Kysely<Database>, plans: PlanRow[]): Promise<PlanStory[]> {
  if (plans.length === 0) return [];
  const ids = plans.map((p) => p.plan_id);
  const stories = new Map<string, PlanStory>(
    plans.map((plan) => [plan.plan_id, { plan, decisions: [], orders: [], results: [] }]),
  );
  // In slices: a statement's bound parameters are limited (SQLite 32,766; PostgreSQL 65,535).
  for (let i = 0; i < ids.length; i += 5000) {
    const slice = ids.slice(i, i + 5000);
    const [decisions, orders, results] = await Promise.all([
      db.selectFrom('decisions').selectAll().where('plan_id', 'in', slice).orderBy('at_ms').execute(),
      db.selectFrom('orders').selectAll().where('plan_id', 'in', slice).orderBy('intent_at_ms').execute(),
      db.selectFrom('results').selectAll().where('plan_id', 'in', slice).orderBy('at_ms').execute(),
    ]);
    for (const d of decisions) stories.get(d.plan_id)?.decisions.push(d);
    for (const o of orders) stories.get(o.plan_id)?.orders.push(o);
    for (const r of results) stories.get(r.plan_id)?.results.push(r);
  }
  return [...stories.values()];
}

/** The newest plans matching `f` (at most `f.limit`, default 50), newest first, with their stories. */
export async function listPlans(db: Kysely<Database>, f: HistoryFilter): Promise<PlanStory[]> {
  const plans = await filteredPlans(db, f)
    .selectAll()
    .orderBy('plans.at_ms', 'desc')
    .orderBy('plans.plan_id', 'desc')
    .limit(f.limit ?? 50)
    .execute();
  return storiesOf(db, plans);
}

/** Every plan matching `f` (no limit), oldest first, with their stories: stats and replay read these. */
export async function plansInWindow(
  db: Kysely<Database>,
  f: Omit<HistoryFilter, 'limit'>,
): Promise<PlanStory[]> {
  const plans = await filteredPlans(db, f)
    .selectAll()
    .orderBy('plans.at_ms')
    .orderBy('plans.plan_id')
    .execute();
  return storiesOf(db, plans);
}

/** One plan's story, or null when the history has no plan entry for it. */
export async function planStory(db: Kysely<Database>, planId: string): Promise<PlanStory | null> {
  const plan = await db.selectFrom('plans').selectAll().where('plan_id', '=', planId).executeTakeFirst();
  if (plan === undefined) return null;
  return (await storiesOf(db, [plan]))[0]!;
}
