/** Hand-written findings of the pipeline bench rounds (bench/lib/pipeline-report.ts renders them). */

/**
 * Where the Redis commands of one executed plan go, step by step, and which of them the wire
 * contract itself asks for. Hand-written from the code (the scripts' headers) and checked against
 * the measured count by command name above; update it when a step changes.
 */
export const COMMAND_BUDGET = `### Where one plan's Redis commands go, and the contract's own share

Per executed EXECUTE plan, counted as INFO commandstats counts (a script call is one EVALSHA, and every command
inside it counts too); \`b\` is the entries per stream read (~1.3 at 400/s, more at higher rates). "Contract" is
what ../shared/CONTRACT.md itself asks for: its keys, streams and consumer groups, each written or read once.
"Added here" is what this implementation adds for its safety rules, and why.

| step | service | commands | per plan | contract | added here, for |
|------|---------|----------|----------|----------|-----------------|
| proposal written | upstream (the bench) | HSET | 1 | 1 | |
| proposal read | apply | HGETALL | 1 | 1 | |
| plan published (publishPlan-4) | apply | EVALSHA, EXISTS result marker, SET NX dedupe, SET NX stream_published, XADD | 5 | 3 | 2: one atomic step; a plan whose result is out is not published again |
| plan read | governor | XREADGROUP, XACK | 2/b | 2/b | |
| grant (grantPermit-5) | governor | EVALSHA, EXISTS, LRANGE, GET day total, SET permit, SET marker, LPUSH, INCRBYFLOAT; EXPIRE of the list once a minute, of the day key once a day; LTRIM past 100 | 8 | 5 | 3: counting atomic with the grant (two governors never both pass a limit); a plan decided once, even after its permit was consumed |
| plan read | P3.3 | XREADGROUP, XACK | 2/b | 2/b | |
| snapshot and ledger read | P3.3 | HGETALL ×2 | 2 | 2 | |
| permit (decideOnce-3) | P3.3 | EVALSHA, EXISTS, SET permit, SET marker | 4 | 1 | 3: a plan decided once |
| permits consumed (consumePermits-3) | apply | EVALSHA, MGET, DEL, SET receipt | 4 | 2 | 2: both or neither; a replay after a crash gets the same bodies |
| order intent (createIntent-2) | apply | EVALSHA, GET lease, EXISTS, HSET, EXPIRE | 5 | 0 | 5: no order without a recorded intent (crash recovery), fenced by the symbol lease |
| fill recorded | apply | HSET | 1 | 0 | 1: recovery knows the order filled |
| result (publishOnce-2) | apply | EVALSHA, SET NX result marker, XADD | 3 | 1 | 2: one result per plan |
| ledger follows the result (applyLedgerResults-N) | P3.3 | HGET, HSET per entry; XRANGE, EVALSHA, GET and SET cursor per 200 ms poll; EXPIRE once a minute | ~2 | ~1 | ~1: each result applied exactly once (cursor, compare-and-set) |
| symbol leases | apply | a PEXPIRE per symbol every 1.67 s, an MGET per 200 | 600/s ÷ rate (1.5 at 400/s) | 0 | replicas: one apply process acts per symbol |
| snapshots | P3.3 | an HSET per symbol every 5 s; EXPIRE once a minute | 200/s ÷ rate (0.5 at 400/s) | same | |
| results observed | the bench | XREAD | ~1/b | | measurement only |

At 400/s (b ≈ 1.3) that is ~21.6 for the contract, ~20.5 added here and ~0.8 for the bench: ~43, against the
41.7–44.6 measured this round. As the rate grows, the per-read and per-interval rows shrink: the contract's own share
tends to **~18 commands per plan**, and to ~16 if a service also kept in memory what it wrote itself (P3.3's snapshot,
the governor's history with a single governor). The ≤ 15 target of issue 8 is below what the contract's keys cost by
INFO commandstats, before any safety rule. Counted as clients send them (a script call counts once), this code meets it at 400/s
(MONITOR, the Targets table above). What is left to cut is the "added here" column, and each item in it is
a guarantee RELIABILITY.md tests: exactly one order per plan across crashes, replicas and redeliveries.
`;

/**
 * This round's changes and its A/B of two builds (bench/pipeline-ab.ts; other builds, so not in
 * this run). Hand-written: move it to pipeline-history.ts when the next round replaces it.
 */
export const CHANGES_LATEST = `### Latest round: the paper exchange's 30 ms stall, and TTLs renewed once a minute (A/B of two builds)

**A** = 1d4ffbf (start of the round), **B** = the round's code, each compiled in its own checkout, run alternately by
\`npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rate <r> --runs 3\` (medians; 8 s
windows at 400/s, 10 s at 100/s; 1,000 symbols). Machine: nproc 2 (AMD EPYC again, shared; redis-benchmark 58k single
commands/s in this round's first full run), node v20.20.2, redis-server 7.0.15. CPU in s per 1,000 executed plans.

| offered /s | build | executed /s | p50 ms | p99 ms | Redis cmds / plan | CPU governor | CPU position-brain | CPU apply | CPU redis-server | CPU bench |
|------------|-------|-------------|--------|--------|-------------------|--------------|--------------------|-----------|------------------|-----------|
| 400        | A     | 403         | 25.16  | 65.53  | 43.0              | 0.72         | 0.67               | 1.49      | 0.63             | 0.97      |
| 400        | B     | 399         | 16.90  | 67.34  | 41.7              | 0.72         | 0.68               | 1.44      | 0.66             | 0.93      |
| 100        | A     | 100         | 4.71   | 13.57  | 53.4              | 1.51         | 1.34               | 3.32      | 1.29             | 1.84      |
| 100        | B     | 100         | 4.87   | 12.78  | 49.4              | 1.59         | 1.35               | 3.41      | 1.34             | 1.91      |

Both builds ran under this round's bench, so both had the faster paper exchange below; CPU moved within the noise.
Each run starts fresh processes, so every symbol's first write in the window still renews its TTL: in steady state
(past the first minute) B saves ~2 commands per plan at any rate, plus the snapshots' 200 EXPIREs a second.

Full runs of \`npm run bench:pipeline\` this round, p99 at 100/s in the latency phase and in the capacity ramp's 100/s
window: the start-of-round code under the start-of-round bench 30.8 and 39.2 ms (sustained 400/s, 686/s at
saturation, 44.0 commands per plan); the final code 14.9 and 33.9 ms (400/s sustained, 915/s at saturation, 40.7),
then 20.1 and 23.8 ms (the run in this section's tables). The target is met in three of those four final windows.

- **The paper exchange stalled for ~30 ms every 5 s** (P3.3's account-wide positionRisk read of 1,000 rows), in the
  bench process that also books the fills the latency is timed on. Most of it was V8, not our arithmetic: building each
  row as \`{ ...base, more }\` cost ~18 µs (an object literal of the same 21 fields: ~1 µs; spread first and then more
  properties is slow on Node 20; Object.assign onto a literal is not). Rows are built that way now, and
  \`decimalOf\` trims toFixed's text instead of going through bigints (fast-check: equal to the exact definition over
  20,000 doubles). 1,000 rows: ~30 ms → ~3 ms. The effect on the pipeline's tail at 100/s, same services, the old
  and the new harness alternating (capacity phase, 20 s windows, 3 runs each):
  p99 16.9, 19.1 and 29.7 ms (median 19.1) with the old paper exchange, 14.3, 16.7 and 17.7 ms (median 16.7) with the
  new one (three more runs of the old one earlier in the round: 20.9–24.9 ms). p50 stayed at 3.9–4.8 ms.
  Before the change, turning P3.3's refresh off (\`--env P33_POLL_SEC=60 --env P33_STALE_THRESHOLD_SEC=120\`) took p99
  from 24.5–29.9 to 17.1–18.0 ms; after it, with and without the refresh gave 16.5–17.8 and 19.8–25.8 ms: the refresh
  no longer shows in the tail.
- **TTLs of day-long keys renewed once a minute**, not by every write (src/services/recent-symbols.ts,
  \`TTL_RENEW_MS\`): the governor's execution list (86,400 s; grantPermit-5 gets a flag), P3.3's ledger (86,400 s;
  applyLedgerResults-N gets a flag per entry) and P3.3's snapshots (3,600 s; HSET alone in between). A write that
  creates the key always sets its TTL (LPUSH answering 1, HSET counting every field new), so no key is ever left
  without one; such a key lives at least its TTL minus a minute after its last write. Tests on Redis and on the
  memory twin, for the scripts and for each service; each fails with the renewal always on, and with the
  creation case left out.
- **The bench refuses unknown options** and answers \`--help\` before running (bench/lib/args.ts): this round's first
  full run was an accidental \`--help\` that ran for 7 minutes and rewrote this section.
- **Measured and left**: the bench process (feeder + paper exchange) is spread thin in its profile at 400/s (60 %
  idle; socket writes 6 %, HMAC 1.4 %, the paper server 3 %); apply, the busiest service, is 60 % busy at 400/s with
  no function above 5 % (socket writes, TCP connects of the fresh order sockets, ioredis). A spread followed by more
  properties also sits in a few per-plan paths of the services (permit signing, a log line): ~2–7 µs each, under
  1 % of a plan's CPU, left as they are.
`;

/**
 * What the profiler found (node --cpu-prof on the three services and the bench process, summarised
 * with bench/lib/cpuprofile-top.ts). Hand-written: update it with each profiling round.
 */
export const FINDINGS = `### What the profiles show (\`npm run bench:pipeline -- --only capacity --rates 300 --profile\`, then \`npx tsx bench/lib/cpuprofile-top.ts .bench-tmp/pipeline/profiles/*.cpuprofile\`)

- **apply is the bottleneck process**: CPU-bound at saturation (3 % idle in its profile at 400/s offered) while the
  governor is ~50 % busy, P3.3 ~30 % and the bench process (feeder + paper exchange) ~30 %. Summed over all processes a
  plan cost ~8 ms of CPU at 100/s (fixed background work included), ~4 ms at 300/s (these two profiles are from the
  previous round; after this round's changes the capacity table shows ~2.2 ms summed at 800/s and ~1.4 ms at
  saturation, so two cores carry ~800/s within p99 ≤ 100 ms and ~1,300/s latency aside, not 2,000/s).
- apply's self time: socket writes \`writeUtf8String\`/\`writeLatin1String\` 11–13 % (one write syscall per Redis
  command and per HTTP request: ioredis does not pipeline unless asked), the HTTP client of the \`binance\` library
  (axios + follow-redirects: mergeConfig, transformResponse, dispatchHttpRequest) 12–15 %, node:net/_http_agent 8 % of
  which 3.5 % is the fresh TCP connection per order (\`internalConnect\`, \`setKeepAlive\`, \`close\`: deliberate, see
  the Exchange section), GC 6–14 %, pino's log writes (\`writeString\`) 4.5 % for ~4 info lines per plan, ioredis
  command objects and reply parsing ~8 %. **Since then the SDK is gone**: reads and orders go through node:http
  (src/exchange/binance/http-client.ts). Rerun at 300/s (apply 35 % idle): node:_http_client, _http_agent, our
  http-client and transport and the HMAC together ~8 % of apply's busy time, \`internalConnect\` ~3 % (the fresh
  connection per order); native writes (\`writev\`, \`writeString\`, \`writeLatin1String\`, \`writeUtf8String\`: Redis,
  HTTP and log lines) ~36 %, GC ~6 %.
- governor: one \`positionRisk\` HTTP read per plan (its position cache keeps a read 1 s; with 1,000 symbols a symbol's
  next plan comes later than that), and a batch of plan entries is only as fast as its slowest read.
  The round before: one account-wide read for all symbols was tried and taken back (it stalled the governor's batches
  on a 1,000-row answer; see the latest round above).
- P3.3: socket writes 9 % (three reads per plan, each its own write), and the adapter's \`positions()\` matches rows
  to symbols with a filter per symbol: 1,000 × 1,006 comparisons per snapshot refresh (O(n²); a Map would do).
  **Changed** on P3.3's side (7eeaef1, 2a1616a): a refresh writes its snapshots in slices of 50 (a slice shares a
  socket write; all 1,000 at once held the event loop: p99 at 100/s 25–90 ms against A's 11–36 ms in one session)
  and seeds missing ledgers in one seedLedgers-N call (one EXISTS over every ledger when none is missing, was a script per symbol);
  executed results move the ledgers in one applyLedgerResults-N call per poll (was a HGETALL and a script per
  result); Sets instead of Array.includes. The adapter's \`positions()\` (src/exchange) is unchanged.
- Key events: every permit write/delete wakes every waiting plan's listener (the hub copies the listener set per
  event): O(plans in flight) per event, measurable only near saturation. **Changed** (2019c8b): a permit wait names
  its plan's keys and the hub finds listeners by key, O(1) per event.
- Apply's per-symbol leases (on by default, APPLY_LEASE_TTL_MS=5000) renew each of the 1,000 symbols every ttl/3:
  ~600 lease scripts a second (each a GET and a PEXPIRE inside), ~1,900 commands/s whatever the load: +12 commands
  per plan at 200/s (58.5 → 70.8 in a 2 × 2 alternating comparison), +180 at 10/s. One lease per replica (or per
  shard of symbols), or one script renewing a batch of keys, would cut the calls; the in-script work stays.
  **Changed** (c55e40e): a round is one acquireLeases-N call per 200 leases (one MGET, then a PEXPIRE or SET NX per
  lease), ~3 calls a second instead of ~600; the PEXPIREs stay (5.8 commands per plan at 100/s).
- The permit wait subscribes the permit pattern when the first plan starts waiting and unsubscribes when the last one
  ends: at 200/s 0.84 PSUBSCRIBE + 0.84 PUNSUBSCRIBE per plan, and a plan that finds no other waiter pays the
  subscribe round trip before its first consume. Keeping the pattern subscribed for a while after the last waiter
  would save both.
- Acks: one XACK per plan entry and authority → **changed to one XACK per batch** (commit "plan consumer: one XACK per
  batch"): A/B at 300/s, medians of 2 alternating runs, Redis commands per plan 57.0 → 45.4, CPU s per 1,000 plans
  governor 0.80 → 0.63, P3.3 0.52 → 0.43, redis-server 0.47 → 0.36.
- Auto-pipelining (ioredis \`enableAutoPipelining\`) was tried on every connection and reverted: two permit-chain tests
  missed their notification wake in 2 of 3 runs of test/store. **The cause**: \`duplicate()\` copied the option to the
  PSUBSCRIBE connection, and ioredis exempts PSUBSCRIBE from auto-pipelining but not PUNSUBSCRIBE (its exemption list
  spells it \`unpsubscribe\`), so the last waiter's PUNSUBSCRIBE, deferred to the end of the turn, reached the server
  after the next waiter's PSUBSCRIBE of the same pattern and dropped it (a test in test/store/redis-store.test.ts
  reproduces it). On the command connection alone test/store passed 5 of 5, but with it the governor and P3.3 spent
  more CPU per plan than with the write coalescing below (0.76 and 0.78 against 0.64 and 0.57 s per 1,000 plans at
  300/s, 4 runs: a pipeline object per command, and their commands seldom share a turn), and a pipeline in flight
  held every later command back until it settled.
  **Landed instead** (716c1dd): the command connection corks its socket for the rest of the event-loop turn (uncork
  at setImmediate), so a turn's commands leave in one writev, each still sent and answered on its own.
- Apply's sweep (57d4903): with notifications on, a period writes a probe key and re-reads every proposal only when
  the probe's notification shows a gap (the subscriber connection was lost: Store.notificationEpoch(); the probe
  went unanswered for a period; its write failed), and every 12th period as a backstop: ~200 HGETALLs a second with
  1,000 symbols at APPLY_POLL_SEC=5 became ~17 (the backstop).
- Apply per plan (409555a, 18c1f83): the arm state is read with the proposal, and publishPlan-4 does the
  result-marker check, the dedupe SET NX and the plan's publishOnce: two round trips before the exchange instead of
  four; two info lines per plan instead of four (\`[PERMIT_WAIT]\` and the result line, which now carries the action,
  the reasons and the order id).
- Memory: loading the CLI's module graph alone was 90.5 MB RSS (bare node 39 MB; ioredis, binance + axios, zod,
  prom-client, undici, pino each add 9–27 MB when loaded alone; undici's WebAssembly HTTP parser another 20–45 MB once
  a request has been parsed). **Changed**: per-command dynamic imports (main.js alone 45 MB, with what \`all\` imports
  77 MB), no exchange client library, one exchange adapter for the three services in \`all\`, and V8/malloc settings
  in the \`all\` unit; under load V8 otherwise lets the heap grow to 100+ MB of mostly garbage (live heap ~18–30 MB).
  Figures and costs: BENCHMARKS.md, Memory (\`npx tsx bench/memory.ts\`).
- Venue limits: Binance allows 1,200 orders a minute and 2,400 request weight a minute per account, and the adapter
  refuses locally once the usage headers say so; 2,000 plans/s is ~100× one account's order limit. The bench's paper
  exchange omits those headers (\`--no-usage-headers\`) so that our side is what is measured.
`;
