/** Hand-written findings of the pipeline bench rounds (bench/lib/pipeline-report.ts renders them). */

/**
 * Where the Redis commands of one executed plan go, step by step, and which of them the wire
 * contract itself asks for. Hand-written from the code (the scripts' headers) and checked against
 * the measured count by command name above; update it when a step changes.
 */
export const COMMAND_BUDGET = `### Where one plan's Redis commands go, and the contract's own share

Per executed EXECUTE plan, counted as INFO commandstats counts (a script call is one EVALSHA, and every command
inside it counts too); \`b\` is the entries per stream read (~1.3 at 400/s, more at higher rates). "Contract" is
what the wire contract (PROTOCOL.md) itself asks for: its keys, streams and consumer groups, each written or read once.
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
export const CHANGES_LATEST = `### Latest round: log lines in batches, two hot helpers, \`all\` optimised for size, P3.3's refresh cadence (A/B of two builds)

**A** = eb480bb (start of the round), **B** = the round's code while it still spread P3.3's refresh (taken back afterwards, see below; so did the
build of the tables above), each compiled in its own checkout, run alternately by
\`npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rate <r> --runs <n> --seconds <s>\`
(medians). Machine: nproc 2 (Intel Xeon, shared), node v20.20.2, redis-server 7.0.15, on a quieter stretch than the
round before: \`redis-benchmark\` gave 123k single commands/s against 77k in that round's final run, and build A,
which that run found sustaining 400/s, kept up with 1,000/s here. Compare rows within a table, not across rounds.
CPU in s per 1,000 executed plans.

| offered /s | runs × window | build | executed /s | p50 ms | p99 ms | Redis cmds / plan | CPU governor | CPU position-brain | CPU apply | CPU redis-server | CPU bench |
|------------|---------------|-------|-------------|--------|--------|-------------------|--------------|--------------------|-----------|------------------|-----------|
| 1000       | 3 × 10 s      | A     | 1006        | 24.01  | 82.40  | 37.3              | 0.26         | 0.25               | 0.65      | 0.25             | 0.41      |
| 1000       | 3 × 10 s      | B     | 1001        | 19.98  | 78.16  | 37.3              | 0.25         | 0.24               | 0.64      | 0.28             | 0.42      |
| 400        | 4 × 10 s      | A     | 400         | 4.62   | 21.43  | 42.9              | 0.63         | 0.59               | 1.40      | 0.61             | 0.81      |
| 400        | 4 × 10 s      | B     | 400         | 4.13   | 21.22  | 42.9              | 0.60         | 0.54               | 1.31      | 0.60             | 0.81      |
| 100        | 3 × 20 s      | A     | 100         | 2.97   | 7.56   | 49.4              | 0.84         | 0.78               | 2.06      | 0.82             | 1.24      |
| 100        | 3 × 20 s      | B     | 100         | 3.03   | 7.12   | 49.4              | 0.89         | 0.78               | 2.01      | 0.92             | 1.34      |

A few percent of the services' CPU, p50 10–17 % lower at 400 and 1,000/s; the 100/s row is within the noise of
three runs (every process moved, the bench's own too). The targets stand where the Targets table puts them.

- **Log lines leave in 4 KB batches, at least every 100 ms** (src/ops/logger.ts, \`STDOUT_BUFFER\`; was one write per
  line). Profiles of the three services at 1,000/s (\`--profile\`, summarised with source maps, see below) had
  pino's \`writeString\` as the largest single item of the governor and P3.3 (2.7 and 2.6 % of their samples, ~13 % of
  their busy time) and 3.8 % of apply's. A/B of this change alone at 1,000/s (3 runs): governor 0.26 → 0.24, P3.3
  0.25 → 0.24, apply 0.65 → 0.64, p50 23.2 → 19.4 ms, p99 57.7 → 47.2 ms. A line shows up at most 0.1 s late; every
  exit flushes (pino's exit handler), crashes included, and a SIGKILL or the OOM killer loses at most the last 0.1 s.
  Two tests run a logger in a process of its own: a few lines reach stdout without filling the buffer (it fails
  with the periodic flush off), and a process that throws right after logging still writes its lines.
- **Tried and taken back: spreading P3.3's refresh writes** over min(1 s, poll/5, stale threshold/10) (they are 20
  slices of 50 back to back, with a yield between slices). It was aimed at the clusters of slow plans the round
  before found every ~5.1 s on a busy host. Nothing showed a gain: an A/B of this change alone at 100/s (5 runs ×
  20 s) gave p99 7.52 (without) against 7.28 ms (with); with two half-core busy loops beside the pipeline (4 runs ×
  20 s) 11.12 against 11.93 ms. Measured alone (1,000 symbols, the paper exchange and the adapter in one process,
  the experiment Redis, a 1 ms timer watching the event loop), the longest stall stayed ~5 ms either way: it is the
  exchange read and its parse, not the writes; and the process spent 42–90 ms of CPU per spread refresh against
  17–19 ms back to back. Taken back after the A/B rows above (build B had it). **Kept**: the refresh now starts
  every poll from its start, not a poll after its end (a 0.4 s read made the period 1.4 s at P33_POLL_SEC=1), so
  snapshots age no more than the poll plus the read; a fake-timer test fails with the old cadence.
- **\`pyJsonParse\` reads with JSON.parse first** and keeps the token reader for what JSON.parse refuses (NaN and
  Infinity tokens, broken text): a permit body 5.1 → 0.8 µs; pyjson.ts 2.0 → 1.2 % of apply's samples at 1,000/s
  (the rest is \`pyJsonDumps\` for plan steps and results). A property test holds both paths to the same answers over
  random, broken and deeply nested texts, the depth limit and \`__proto__\` keys included.
- **The Redis adapter builds field/value arguments with a loop**: \`Object.entries().flat()\` was 1.8 µs a call (a loop:
  0.05 µs), 1.0 % of apply's samples at 1,000/s (stream entries, intents, results).
- **\`all\`'s unit starts node with \`--optimize-for-size\`** (V8 favours a small heap over speed; node refuses the
  flag in NODE_OPTIONS, so it is on the unit's ExecStart line, and the bench rig and bench/memory.ts take ExecStart's
  flags too). The round's first full run found \`all\` at 92.5 MB (1,000/s offered, 790/s executed) and the second at
  90.4 MB (1,200/s offered, 887/s executed): over the target whenever the split layout's capacity is more than one
  thread carries. \`npx tsx bench/memory.ts --runs 3 --rate R --seconds 8 --variant 'now=:deploy' --variant
  'optimize-for-size=:deploy --optimize-for-size'\`, peak RSS, medians (range):
  400/s 84.8 (83.7–85.0) → 80.2 (79.7–81.3) MB, CPU per plan +3.5 %, p50 4.8 → 5.5 ms, p99 29 → 35 ms;
  600/s 87.0 (86.0–87.6) → 80.7 (80.1–82.2) MB, p99 44 → 143 ms (near one thread's limit the tail grows);
  1,000/s (2 runs, overloaded) 89.7 → 82.4 MB, 817 → 754/s executed. V8's heap at the end: 34–40 → 29–31 MB.
  Fewer plans in flight was the other lever and costs more: 8 instead of 16 at 1,000/s gave 86.3 MB but 729/s
  against 946/s. A test starts node with every unit's ExecStart flags and NODE_OPTIONS, so a flag node refuses
  (in NODE_OPTIONS or at all) fails CI, not a deployment.
- **Tools.** \`bench/lib/cpuprofile-top.ts\` skipped the first profile file when \`--top\` was not given (its filter took
  \`--top\`'s absent index as -1 and dropped argument 0), so every earlier summary of \`profiles/*.cpuprofile\` left out
  the first file, usually the governor's; it now also maps frames of the bundle (dist/bundle/chunk-*.js) back to
  src/ files and packages through the source maps beside them. bench/memory.ts accepts settings after \`deploy\` in a
  variant (\`'label=:deploy APPLY_MAX_IN_FLIGHT=8'\`). The capacity ramp adds 1,200, 1,400 and 1,600/s.
- **Measured and not taken: a 32 MB young generation for the split services** (\`npx tsx bench/pipeline.ts --only
  capacity --rates 1000 --no-build --no-write [--env NODE_OPTIONS=--max-semi-space-size=32]\`, 3 alternating runs
  each): apply 0.635 against 0.630 CPU s per 1,000 plans, governor 0.248 against 0.256, P3.3 0.244 against 0.242, p99
  41–51 against 39–54 ms. The garbage collector is ~3 % of apply's samples; a larger young generation does not buy it back.
`;

/**
 * What the profiler found (node --cpu-prof on the three services and the bench process, summarised
 * with bench/lib/cpuprofile-top.ts). Hand-written: update it with each profiling round.
 */
export const FINDINGS = `### What the profiles show (\`npm run bench:pipeline -- --only capacity --rates 300 --profile\`, then \`npx tsx bench/lib/cpuprofile-top.ts .bench-tmp/pipeline/profiles/*.cpuprofile\`)

- **This round, at 1,000/s** (\`npx tsx bench/pipeline.ts --only capacity --rates 1000 --no-build --no-write --profile\`,
  each service's profile summarised by cpuprofile-top with the bundle's source maps): apply 43 % idle, the governor
  and P3.3 ~80 %, the bench process (feeder + paper exchange) ~67 %. Summed over the processes a plan costs ~1.8 ms
  of CPU (apply 0.64, bench 0.42, redis-server 0.28, governor 0.25, P3.3 0.24), so two cores run out at ~1,100–1,300/s;
  2,000/s needs ≤ 1.0 ms. No single item is left to remove: apply's largest self times are native writes (\`writev\`
  4.3 %, \`writeLatin1String\` 2.8 %, \`writeUtf8String\` 1.3 %: Redis commands and HTTP requests), the garbage
  collector 3.1 %, the fresh connection per order (\`internalConnect\` 1.8 %, deliberate), ioredis 6.6 % in all, node's
  HTTP client and agent ~4 %, the HMAC 1.3 %; of our code only pino's line writes (fixed), \`pyJsonParse\` and the
  Redis argument builder stood out (both fixed; see the latest round). The bench process spends its time in the
  paper exchange's response writes (\`writev\` 5.5 %) and signature checks.
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
  answer; see "Three rounds before" above).
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
  exchange omits those headers (\`--no-usage-headers\`) so that our side is what is measured. With them
  (\`npm run bench:venue\`, section "Venue limits"), one account carries 20 plans/s, its order limit, since position
  reads are shared once the minute's weight runs short; before, ~4 plans/s spent the weight and the governor auto-disarmed.
`;
