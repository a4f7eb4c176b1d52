/** Hand-written findings of the floor bench (bench/floor.ts appends them to its section). */
export const FLOOR_NOTES = `### What the floor is, and what it leaves out

bench/lib/floor is the wire contract written plainly, in three processes that stand where our services stand,
configured by the same environment: apply reads a proposal on its keyspace event (HGETALL, GET of the arm state),
SET NX of the dedupe key, SET of stream_published, XADD of the plan; it consumes both permits in one script (MGET,
DEL) on their keyspace events while it looks the client order id up on the exchange (the contract's "once per plan
id, ever"), then reads the position, sends a signed reduceOnly MARKET order of min(safe_close_qty, the plan's share of
that position), XADDs the result. The
governor reads plans in batches (XREADGROUP, one XACK), checks the permit key, the execution list and the day's
total, reads the position (once per symbol per second), and writes the permit, LPUSH + LTRIM, INCRBYFLOAT. P3.3
refreshes every snapshot from one account-wide read every 5 s, reads the snapshot and the ledger per plan and
writes the permit; its ledger follows the result stream. ioredis with auto-pipelining on every command connection.

It is not a minimum, and it is **not safe**: no order intent (a crash between the consume and the order loses
track of the order), no result marker (a redelivered plan gets a second result), no decide-once markers, counting
outside one script (two governors could both pass a limit), no symbol leases (two apply replicas could both
act), no validation of permit bodies beyond the contract's checks, no permit signatures, no logs, no metrics, no
reconnect or outage handling. It exists to be measured beside ours in the same run.

### This round: the contract asks for the lookup and the read after the consume (tables above)

The contract now requires, before the first send of a plan step, a lookup of its client order id on the exchange,
and the order sized against a position read after the consume; the floor does both (4 exchange requests per plan,
as ours). Ours costs 1.02× the floor's CPU per plan at 800/s, 1.06× at 400/s and 1.23× at 100/s (the last run without
the lookup in either: 1.14× at 800/s). The gap is in Redis commands (42.9 against 24.8 per plan): intents, markers,
decide-once and the P3.3 reservations, which the floor leaves out.
`;
