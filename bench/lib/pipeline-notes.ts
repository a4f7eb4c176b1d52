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
export const CHANGES_LATEST = `### Latest round: the deployed CLI as one bundle, latency histograms over all symbols, \`all\`'s young generation (A/B of two builds)

**A** = 0c108c3 (start of the round), **B** = the round's code, each compiled in its own checkout, run alternately by
\`npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rate <r> --runs 3\` (medians; 8 s
windows, 1,000 symbols). Machine: nproc 2 (Intel Xeon, shared: another host than the round before's AMD EPYC),
node v20.20.2, redis-server 7.0.15. CPU in s per 1,000 executed plans.

| offered /s | build | executed /s | p50 ms | p99 ms | Redis cmds / plan | CPU governor | CPU position-brain | CPU apply | CPU redis-server | CPU bench |
|------------|-------|-------------|--------|--------|-------------------|--------------|--------------------|-----------|------------------|-----------|
| 400        | A     | 400         | 16.14  | 52.09  | 41.7              | 0.75         | 0.70               | 1.57      | 0.59             | 0.95      |
| 400        | B     | 401         | 21.71  | 57.28  | 41.3              | 0.77         | 0.71               | 1.55      | 0.60             | 1.04      |
| 100        | A     | 100         | 4.30   | 10.61  | 50.2              | 1.42         | 1.22               | 3.30      | 1.08             | 1.71      |
| 100        | B     | 100         | 4.24   | 11.33  | 50.1              | 1.38         | 1.22               | 3.28      | 1.09             | 1.74      |

The split layout's speed did not move (nor was it meant to): this round was about \`all\`'s memory, measured with
bench/memory.ts (BENCHMARKS.md, Memory of \`all\`, latest round).

- **The deployed CLI is one esbuild bundle** (scripts/bundle.ts → dist/bundle, which bin/quantum-apply.js runs; the
  bench's services run it too). A process used to import ~370 module files: zod's index alone loads its 64 locale
  files, and each module keeps its source text and top-level code. The bundle is ~20 files with the unused parts
  shaken out, whitespace and syntax minified, identifiers kept (stack traces name functions) and a source map beside
  each file (\`NODE_OPTIONS=--enable-source-maps\` gives src/ lines). RSS right after importing what \`all\` runs:
  75.4 → 67.8 MB; \`all\` at 400/s with the unit's settings: peak 94.2 → 91.0 MB. A test runs the bundle as its own
  process from a directory without node_modules (test/cli/bundle.test.ts).
- **The two apply latency histograms lost their symbol label**: with 1,000 symbols they made 30,000 series (15 per
  label set) and ~3 MB of text per scrape. The dashboard's two panels say "all symbols"; a new test checks that every
  label an alert or panel selects exists on its metric. \`all\` at 400/s: peak 89.4 → 87.7 MB, V8 heap 37.7 → 35.9 MB.
- **\`all\`'s unit sets a 2 MB young generation** (was 1 MB). A CPU profile of \`all\` at 300/s put 19 % of its
  samples in the garbage collector; an allocation profile (V8's sampling heap profiler with collected objects kept)
  showed ~280 KB allocated per plan (ioredis command and reply buffers ~25 %, node's HTTP client ~15 %, pino ~8 %).
  At 400/s, 3 runs each: 1 MB peaked at 88.0 MB but fell behind (p50 439 ms, CPU 2.79 s per 1,000 plans); 2 MB
  88.8 MB, p50 60 ms, CPU 2.61; 4 MB 91.1 MB, p50 33 ms, CPU 2.53.
- **\`all\` holds at most 16 plans in flight** unless APPLY_MAX_IN_FLIGHT says otherwise (src/cli/commands/all.ts;
  the apply service keeps 64). Its one thread gains little from more: at 400/s, 2 runs each, 64 → 16 kept 400/s
  executed and took peak RSS 88.8 → 85.4 MB; at 600/s, past what one thread carries, 92.9 → 86.3 MB for ~5 % fewer
  plans executed (514 → 490/s). 24 and 32 sat between; 4 halved the throughput. Two more sets at 400/s on the final
  code: 16 peaked lowest in both (85.5 and 85.0 MB against 91.0 and 89.0 for 64), kept up in one and fell behind in
  the other, on a slow stretch of the host (345 against 412/s).
- **P3.3's ledger seeding asks first** (src/store/redis/authority-scripts.ts): a keys-only EXISTS per 500 ledgers,
  and the seedLedgers-N script (with 500 ledgers' seed values, built and sent in one go) only when one is missing.
  Measured alone on the experiment Redis: 3.6–6.2 ms per call (client CPU 3.1–7.3 ms) against 0.4–0.8 ms, twice every
  5 s. In the pipeline it made no difference the A/B could see (\`--rate 100 --runs 3\`: p99 16.1 against 17.1 ms, P3.3
  CPU 1.29 against 1.28 s per 1,000 plans): the refresh's tail stays. A test counts the script calls.
- **Measured and left: where the 100/s tail comes from.** Per-plan latencies dumped against their start time (a local
  change to the feeder, not kept) show the slow plans of a 100/s window (over 15 ms) in clusters of 5–10 plans over
  100–200 ms: most every ~5.1 s (P3.3's refresh of 1,000 snapshots; with the refresh slowed to once a minute, p99 9.2
  against 10.0–15.4 ms, but clusters ~5–7 s apart remain), others from major GCs in apply (busy spans of 40–50 ms in
  its CPU profile, a third of them in the garbage collector). Redis is not the stall: its slowlog (over 0.3 ms) holds
  apply's lease rounds (acquireLeases-N over 200 keys, 0.5–1.6 ms each, 5 per round every 1.67 s) and P3.3's ledger
  scripts (0.3–0.5 ms), nothing longer. A 4 MB young generation for the services made the tail no better (p99 11.9
  and 18.2 against 10.0 and 13.4 ms). In the latency phase's 1,000-plan window, two such clusters already hold the 10
  slowest plans, so its p99 sits on them: 25.1 ms in this round's first full run against 20.2 ms in the capacity
  ramp's 2,000-plan window.
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
  One account-wide read for all symbols was tried and taken back (it stalled the governor's batches on a 1,000-row
  answer; see "Two rounds before" above).
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
