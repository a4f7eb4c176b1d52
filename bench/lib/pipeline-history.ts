/**
 * Hand-written findings of the earlier pipeline bench rounds (A/B of two builds each), newest
 * first, kept for their figures; bench/lib/pipeline-report.ts renders them after this round's.
 * Each was measured on its own day and host: compare rows within a table, not across tables.
 */

/** One round before this one. */
export const ROUND_1 = `### The round before: the deployed CLI as one bundle, latency histograms over all symbols, \`all\`'s young generation (A/B of two builds)

**A** = 0c108c3 (start of the round), **B** = the round's code, each compiled in its own checkout, run alternately by
\`npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rate <r> --runs 3\` (medians; 8 s
windows, 1,000 symbols). Machine: nproc 2 (Intel Xeon, shared: another host than the AMD EPYC of two rounds before),
node v20.20.2, redis-server 7.0.15. CPU in s per 1,000 executed plans.

| offered /s | build | executed /s | p50 ms | p99 ms | Redis cmds / plan | CPU governor | CPU position-brain | CPU apply | CPU redis-server | CPU bench |
|------------|-------|-------------|--------|--------|-------------------|--------------|--------------------|-----------|------------------|-----------|
| 400        | A     | 400         | 16.14  | 52.09  | 41.7              | 0.75         | 0.70               | 1.57      | 0.59             | 0.95      |
| 400        | B     | 401         | 21.71  | 57.28  | 41.3              | 0.77         | 0.71               | 1.55      | 0.60             | 1.04      |
| 100        | A     | 100         | 4.30   | 10.61  | 50.2              | 1.42         | 1.22               | 3.30      | 1.08             | 1.71      |
| 100        | B     | 100         | 4.24   | 11.33  | 50.1              | 1.38         | 1.22               | 3.28      | 1.09             | 1.74      |

The split layout's speed did not move (nor was it meant to): this round was about \`all\`'s memory, measured with
bench/memory.ts (BENCHMARKS.md, Memory of \`all\`, the round before).

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

/** Two rounds before this one. */
export const ROUND_2 = `### Two rounds before: the paper exchange's 30 ms stall, and TTLs renewed once a minute (A/B of two builds)

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

/** Three rounds before this one. */
export const ROUND_3 = `### Three rounds before: fewer commands per grant; two ideas measured and taken back (A/B of two builds)

**A** = f17ccb9 (start of the round), **B** = the round's code, each compiled in its own checkout, run alternately by
\`npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rate 400 --runs 3\` (8 s windows,
1,000 symbols, medians). Machine: nproc 2 (Intel Xeon, shared: another host than the rounds below, redis-benchmark
89–95k single commands/s; every process spent 10–50 % more CPU per plan than there, so compare rows within a table,
not across tables), node v20.20.2, redis-server 7.0.15. CPU in s per 1,000 executed plans; "exchange requests" is
what the paper exchange received, all services together (the bench now counts them per endpoint).

| offered /s | build | executed /s | p50 ms | p99 ms | Redis cmds / plan | positionRisk reads / plan | exchange requests / plan | CPU governor | CPU position-brain | CPU apply | CPU redis-server | CPU bench |
|------------|-------|-------------|--------|--------|-------------------|---------------------------|--------------------------|--------------|--------------------|-----------|------------------|-----------|
| 400        | A     | 414         | 40.16  | 182.45 | 45.4              | 1.973                     | 2.97                     | 0.74         | 0.64               | 1.51      | 0.56             | 1.08      |
| 400        | B     | 400         | 42.21  | 193.04 | 42.5              | 2.002                     | 3.00                     | 0.73         | 0.68               | 1.51      | 0.57             | 1.09      |

400/s is at the edge of this host (p99 above 100 ms for both builds). MONITOR at 100/s (5 s, all clients): 21.6 → 20.7
commands sent by clients per plan, 35.2 → 33.8 run inside scripts.

Two full runs of \`npm run bench:pipeline\` on the final code this day, 20 minutes apart: the one in this section's tables
(redis-benchmark 71k single commands/s in the same run: 100/s sustained, 607/s at saturation) and a second one
(redis-benchmark 26k: no rate met p99 ≤ 100 ms, 402/s at saturation, p99 at 100/s 316 ms). The host's other tenants,
not the code, moved between them; the A/B runs above alternate builds to see past that.

- **What changed** (governor):
  - no read of the symbol's execution history (LRANGE) before granting: the grant script counts it and now checks
    the hourly and 5-minute limits before the stored daily total, the contract's order; only a plan about to be
    blocked by a later gate (failed position read, amount not computable) reads it first, so a rate limit stays its
    reason; and for 5 minutes after a rate-limit block the symbol's plans are checked against the history before the
    exchange read, as every plan was before, so a burst over a limit costs no positionRisk weight (tests in
    test/services/governor/gates.test.ts);
  - in the grant script, LTRIM runs only once LPUSH made the list longer than kept, and the day key's EXPIRE only
    when INCRBYFLOAT created it (tests on Redis and the memory twin). 3 commands fewer per granted plan;
  - positionRisk answers are parsed by hand (src/exchange/binance/position-rows.ts) with the schema's rules, checked
    against the zod schema by a fast-check property over 20,000 answers: zod's safeParse of a 1,000-row answer was
    8.8 % of the governor's busy samples while it read every position at once (below). With one symbol per read it
    makes no difference this bench can show; P3.3's 1,000-row refresh every 5 s still uses it;
  - \`quantum_govern_position_reads_total\` counts the governor's reads (weight 5 each).
- **Taken back: one account-wide position read for the governor** (positionRisk without a symbol costs the same
  weight 5 as one symbol's). With 16 or more symbols read within the cache's second, one read served them all and was
  renewed ahead. At 400/s (3 runs) the governor's CPU fell 0.75 → 0.54 and its reads to ~1.3 a second. But in the
  capacity ramp (\`BENCH_PIPELINE_DIR=<build> npx tsx bench/pipeline.ts --only capacity --no-build --no-write\`, one
  ramp each) the pipeline got slower: p99 at 100/s 442 ms against A's 81 ms, and at 300/s 247 plans/s executed
  against 300. The governor's batch waited on an answer of a row per position: the paper exchange holds a position on
  all 1,000 symbols and took ~30 ms per such answer (2 ms for one symbol), longer on a busy host. Back to one read per
  symbol, the same ramp: B 100–400/s all executed (p99 58–189 ms), A the same (p99 94–557 ms); both fell behind at
  600/s (556 and 565/s).
- **Taken back: the apply layer on shared position reads** (a40fd20, reverted by dc74a8d). Invalidated by every
  order on the symbol, they cut positionRisk reads to 0.008 per plan and exchange requests to 1.01 at 400/s, with no
  CPU change beyond the noise. The end-to-end fuzz test, which moves positions between plans as a manual trade
  would, caught orders sent against a read up to 1 s old: reduce-only kept them harmless, but apply's read is the
  last check before an order. Sharing it needs a position source that stays current (the user data stream).
- **Tried, not kept**: synchronous log writes (pino \`sync: true\` instead of SonicBoom's asynchronous writes; P3.3's
  "P3.3 ALLOW" line was 7.5 % of its busy samples, most of it in fs.write): A/B at 400/s, 3 runs, no difference
  beyond the noise (governor 0.53 → 0.50, P3.3 0.68 → 0.66, apply 1.50 → 1.56). V8 and malloc settings for \`all\`:
  see Memory of \`all\`.
`;

/** Four rounds before this one. */
export const ROUND_4 = `### Four rounds before: reads that notifications make unnecessary (A/B of two builds)

**A** = 9aae480 (start of the round), **B** = the round's code (400/s rows: 319a7d1, everything below; 800/s rows:
285bdc0, before the ledger change). Each build compiled in its own checkout, run alternately by
\`npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rate <r> --runs 3\` (8 s windows,
1,000 symbols, medians; each run also counts with MONITOR for 5 s at 100/s and at the rate). Machine: nproc 2 (AMD
EPYC, shared; this day ~20 % slower than the day of the tables below: redis-benchmark 70–83k single commands/s
against 97k, and every process spent more CPU per plan), node v20.20.2, redis-server 7.0.15.

| offered /s | build | executed /s | p50 ms | p99 ms | Redis cmds / plan (commandstats) | sent by clients / plan at 100/s | at the rate | CPU governor | CPU position-brain | CPU apply | CPU redis-server | CPU bench |
|------------|-------|-------------|--------|--------|----------------------------------|---------------------------------|-------------|--------------|--------------------|-----------|------------------|-----------|
| 400        | A     | 400         | 9.00   | 42.82  | 55.5                             | 28.1                            | 23.9        | 0.73         | 0.61               | 1.45      | 0.64             | 0.87      |
| 400        | B     | 400         | 8.95   | 43.45  | 49.2                             | 22.8                            | 17.6        | 0.73         | 0.61               | 1.37      | 0.65             | 0.92      |
| 800        | A     | 831         | 163.25 | 769.66 | 47.3                             | 28.0                            |             | 0.28         | 0.21               | 0.82      | 0.25             | 0.57      |
| 800        | B     | 871         | 153.19 | 789.46 | 41.5                             | 23.1                            |             | 0.27         | 0.21               | 0.82      | 0.25             | 0.55      |

800/s was beyond both builds that day (backlogs: executed above the offered rate while they drained). CPU in s per
1,000 executed plans.

- **What changed** (each keeps its fallback; RELIABILITY.md "Missed notifications"):
  - the authorities no longer read the decision markers before deciding (an MGET per plan in each): the grant and
    decide scripts refuse a decided plan atomically anyway;
  - apply keeps the arm state in memory while the key's change notifications prove it unchanged (two HGETALLs per
    plan; src/services/apply/arm-cache.ts);
  - apply watches an EXECUTE plan's permit keys before publishing it, so the permit wait skips the consume that
    always found no permit (a script call and its MGET per plan; \`watchPermits\`);
  - P3.3's ledger follower expects the amount it last wrote instead of reading the ledger before each write (a
    HGETALL per executed result; the compare-and-set still checks it).
- **Commands**: −11 % at 400/s, −12 % at 800/s (INFO commandstats); sent by clients 28.1 → 22.8 per plan at 100/s,
  23.9 → 17.6 at 400/s. At 400/s (MONITOR, 4 s, by connection): apply 7.0 per plan, governor 3.5 (of which XREADGROUP +
  XACK 1.5: batches of ~1.3 entries), P3.3 4.8 (XREADGROUP + XACK 1.7), and the bench's feeder 1.9 (its HSET, and an
  XREAD of the results to time them, which is measurement, not pipeline).
- **After the A/B** two more changes: apply's intent update is one HSET that keeps the TTL the intent was created
  with (\`Store.hupdate\`: EXPIRE only when the HSET created the key), not HSET + EXPIRE; and \`all\` runs its three
  services on one store (below). One EXECUTE plan now costs 12 commands sent by clients (the feeder's HSET included)
  plus its share of the batched stream reads and acks and of one applyLedgerResults call per batch: HSET proposal;
  apply HGETALL proposal, publishPlan, consume, createIntent, HSET intent, publishOnce result; governor LRANGE,
  grantPermit; P3.3 HGETALL snapshot, HGETALL ledger, decideOnce. Inside those scripts run ~29 more (the contract's
  keys: dedupe, two stream markers and entries, two permits and decision markers, the receipt, the intent, the
  governor's list and daily counter, the ledger).
- **CPU per plan**: no change this machine can show (within ±5 % run to run). A command less is ~20 µs summed over
  client and server against ~2.5–4 ms a plan costs in all processes together on this day.
- **Against the round before it**: that round's run had 795/s sustained, p99 15.6 ms at 100/s and 1,286/s at saturation
  (redis-benchmark 97k single commands/s); compare the tables above, and their redis-benchmark line, with those.
  The A/B above, on one day, shows no change in CPU or throughput between the builds: what differs between the two
  runs is the machine's day.
- **Overload**: apply now handles at most APPLY_MAX_IN_FLIGHT (default 64) plans at once; past it, intake waits.
  Without the bound, \`all\` above its thread's capacity ended nearly every plan \`BLOCKED permit_timeout\` (34/s
  executed at 600/s); with 64 it executed 628/s (BENCHMARKS.md, Memory of \`all\`). In this layout the rows above
  run with the default bound; one-run comparisons at 800 and 1,500/s showed no difference beyond the noise.
- **Logging** (\`npx tsx bench/pipeline.ts --only capacity --rates 600 --no-build --env LOG_LEVEL=<level> --json ...\`,
  info and warn alternated, 2 runs each): at info (the default: apply's \`[PERMIT_WAIT]\` and result lines, the
  governor's "permit granted", P3.3's "P3.3 ALLOW", one line each per plan) the services spent 8 % more CPU per plan
  than at warn (governor 0.47–0.49 vs 0.44, P3.3 0.41–0.42 vs 0.36, apply 0.95–1.03 vs 0.92–0.97 s per 1,000 plans),
  with logs going to /dev/null (a pipe to journald costs more per line). Kept: the lines are the operators' trail;
  LOG_LEVEL=warn is the knob when CPU matters more.
- **\`all\` under load** (\`npx tsx bench/memory.ts --runs 2 --rate 400 --seconds 8 --no-build --variant ...\`, same day):
  with the unit's settings it carried 400/s at 90.5 MB peak RSS (90.5–90.8); \`--single-threaded-gc\` or a 64 MB
  old-space ceiling gave 89.5–91.0, the same within the noise. Without the settings: 181 MB at 400/s, 190 MB at 600/s.
  At 600/s \`all\` is at the limit of its one thread (~1.65 ms of CPU per plan for the three services together), and
  anything that costs CPU tips it over: with a 128 MB old-space ceiling alone it executed 311/s of 600 (p99 1.5 s),
  with the unit's settings 4–8/s, the rest ending \`BLOCKED permit_timeout_or_missing\` (fail-closed). The three
  units are the layout for high rates.
`;

/** Five rounds before this one. */
export const ROUND_5 = `### Five rounds before: fewer Redis commands and round trips per plan (A/B of two builds)

**A** = commit 0e303c9 (before), **B** = 2a1616a (the 300/s rows: 18c1f83, the same Redis changes before the
snapshot-slice fix; B also holds bdc0334, single-flight exchangeInfo refreshes). Each build compiled in its own checkout
(\`git worktree add\`, then \`BENCH_PIPELINE_DIR=<repo>/.bench-tmp/<name> npx tsx bench/pipeline.ts --only none\` in it),
run alternately by \`npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-A0 --b .bench-tmp/pipeline-B6 --rate <r>
--runs <n> [--seconds <s>]\` from a checkout at 18c1f83 (services with V8 defaults, before the unit environment of
7690445). Machine: nproc 2 (AMD EPYC; shared with another engineer's suites and benches, load average below), node
v20.20.2, redis-server 7.0.15 on loopback. Medians; CPU in s per 1,000 executed plans.

| offered /s | runs × window | load avg start → end | build | executed /s | p50 ms | p99 ms  | Redis cmds / plan | CPU governor | CPU position-brain | CPU apply | CPU redis-server | CPU bench (feeder + paper exchange) |
|------------|---------------|----------------------|-------|-------------|--------|---------|-------------------|--------------|--------------------|-----------|------------------|-------------------------------------|
| 5          | 2 × 10 s      | 7.0 → 4.3            | A     | 5           | 8.09   | 15.14   | 618.8             | 2.40         | 5.20               | 6.60      | 3.60             | 7.80                                |
| 5          |               |                      | B     | 5           | 7.23   | 25.34   | 260.5             | 2.60         | 4.00               | 5.60      | 2.20             | 7.40                                |
| 100        | 3 × 15 s      | 4.4 → 8.1            | A     | 100         | 4.86   | 53.29   | 84.5              | 1.17         | 0.99               | 2.47      | 0.99             | 1.43                                |
| 100        |               |                      | B     | 100         | 4.45   | 26.26   | 64.0              | 1.24         | 1.02               | 2.57      | 0.97             | 1.51                                |
| 300        | 5 × 8 s       | 3.3 → 4.7            | A     | 300         | 3.31   | 30.31   | 65.1              | 0.52         | 0.48               | 1.25      | 0.64             | 0.69                                |
| 300        |               |                      | B     | 300         | 3.21   | 47.37   | 57.1              | 0.54         | 0.53               | 1.24      | 0.55             | 0.70                                |
| 700        | 3 × 8 s       | 3.7 → 4.4            | A     | 701         | 54.40  | 544.43  | 52.1              | 0.25         | 0.25               | 0.85      | 0.30             | 0.42                                |
| 700        |               |                      | B     | 701         | 8.10   | 51.90   | 51.9              | 0.38         | 0.31               | 0.85      | 0.40             | 0.49                                |
| 1000       | 3 × 8 s       | 3.1 → 5.1            | A     | 1064        | 635.54 | 1404.67 | 48.3              | 0.16         | 0.17               | 0.65      | 0.21             | 0.28                                |
| 1000       |               |                      | B     | 893         | 279.30 | 1291.43 | 47.2              | 0.17         | 0.16               | 0.66      | 0.19             | 0.32                                |

- **Commands**: per executed plan −25 % at 100/s (84.5 → 64.0), −12 % at 300/s, −58 % at 5/s where the fixed
  background work dominates (618.8 → 260.5). MONITOR at 100/s (5 windows each): 41.0 sent by clients + 44.0 inside
  scripts → 28.0 + 36.0. By command at 100/s (INFO commandstats), before: evalsha 15.6, set 9.0, get 9.0, hgetall 8.0,
  expire 7.0, hset 6.0, exists 6.0, pexpire 5.9, mget 3.7; after: set 7.8, expire 6.8, evalsha 6.6, hset 5.8,
  hgetall 5.8, pexpire 5.8, exists 3.9, mget 3.6, get 2.0.
- **Write syscalls** per plan at 300/s (\`strace -f -c -p <pid>\` for 5 s of the capacity window, write + writev): apply
  18.6 → 9.7, governor 7.5 → 6.7, P3.3 12.7 → 5.8.
- **CPU per plan** at 100–1,000/s: no change this machine can show. Run to run the bench process, whose code is the
  same in both builds, moved as much as the services (e.g. 1.43 → 1.51 at 100/s). The idle cost fell (5/s rows, CPU
  per second): apply ~32 → ~25 ms, P3.3 ~25 → ~20 ms, redis-server ~18 → ~11 ms. The V8 profiles overstated the
  socket writes (likely: the sampler charges to the write the time the thread is preempted by the redis-server it
  woke).
- **Capacity**: both builds carry 700/s here at quiet moments (A: 701, 406 and 771/s executed, the 406 run
  collapsed with a 3,040-plan backlog; B: 698, 708, 701/s, p99 32–172 ms) and neither 1,000/s (A 726/1,064/1,158,
  B 857/1,043/893; a window can exceed the offered rate while a backlog drains). The target of 2,000/s is ~2× away:
  summed over the processes a plan costs 2.1–2.4 ms of CPU at 700/s (1.7–1.9 in the services and Redis, ~0.45 in the
  bench's feeder and paper exchange), on 2 cores; 2,000/s needs ≤ 1 ms for all of it.
- **What limits**: apply's per-plan work (~0.85 ms at 700/s): the exchange (a positionRisk read and an order on a
  fresh TCP connection per plan, src/exchange), ~7 Redis round trips, permit JSON parsing, promises, GC, two log
  lines. ≤ 15 commands per plan is out of reach without a different design: the contract's own per-plan keys (dedupe,
  two stream markers, two entries, two permits and two decision markers, receipt, intent, counters, ledger and
  cursor) and the reads they need come to ~50 commands per EXECUTE plan.
- Write coalescing vs ioredis auto-pipelining, otherwise the same code (57d4903 vs 716c1dd, 4 runs at 300/s, load
  2.6 → 7.1, \`npx tsx bench/pipeline-ab.ts --a .bench-tmp/pipeline-B2 --b .bench-tmp/pipeline-B3 --rate 300 --runs 4\`,
  services with the units' environment of the bench then in the tree): CPU governor 0.76 → 0.64, P3.3 0.78 → 0.57,
  apply 1.78 → 1.49, redis-server 0.57 → 0.50.
`;

export const EARLIER_ROUNDS = [ROUND_1, ROUND_2, ROUND_3, ROUND_4, ROUND_5];
