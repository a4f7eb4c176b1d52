/** Hand-written findings of the venue bench (bench/venue.ts appends them to its section). */
export const VENUE_NOTES = `### This round: an order costs no request weight; the authorities read ahead of a slow batch

A = a88d55b (the start of the round), B = 9a15dd0 (the plan-consumer change below; later commits of the round do not
touch what this bench runs). Both builds run against the same paper exchange, which this round changed.

- **The paper exchange charged 1 request weight per order; Binance charges 0.** Binance's "New Order (TRADE)" page
  for USDⓈ-M futures gives its weight as "1 on 10s order rate limit; 1 on 1min order rate limit; 0 on IP rate limit
  (x-mbx-used-weight-1m)". EXCHANGE.md did not say, and the last note flagged it as unverified. At 20 plans/s the
  orders alone spent half of the paper exchange's minute, so reads were refused (\`exchange_read_failed:rate_limited\`)
  in a way the venue would not. Now an order counts on both order-count windows and nothing on the weight; a test in
  test/exchange/paper-exchange.test.ts checks it and fails on the old charge. With that, both builds execute every
  plan up to 20/s, the account's order limit (table above).
- **The governor and P3.3 read the next batch of plans while earlier ones are still being handled**
  (src/services/plan-consumer.ts, up to 256 entries in flight). Before, a batch was only as fast as its slowest
  entry, and the governor's entries can wait up to ~2 s for a shared position read: entries that arrived meanwhile
  waited for the whole batch, then for the next shared read, and some outlived apply's 1.2 s permit wait
  (\`permit_timeout_or_missing:missing_governor\`). Acks are still one XACK per batch after its handlers return;
  after an outage, recovery waits for every batch in flight before re-reading pending entries; the periodic
  XAUTOCLAIM leaves our own entries that are still in flight to their batch.
  - In the table above, B's p99 is 28–41 % below A's at every rate (423 vs 600 ms at 5/s, 547 vs 864 at 10/s,
    571 vs 972 at 15/s, 755 vs 1,054 at 20/s); p50 is within noise except at 15/s (188 vs 255 ms).
  - With orders still charged 1 weight (same A and B, 3 alternating pairs at 20/s, 60 s each): permit timeouts
    56, 0, 61 for A against 7, 0, 0 for B. The weight refusals came and went with the run (A: 200, 0, 0; B: 93, 0,
    200), because at 20/s the budget was at the edge; executed plans A 938, 1,189, 1,121, B 1,096, 1,193, 973.
- **What is left**: the latency once reads are shared (p50 ~0.2 s from 10/s up) is the price of sharing one read
  among many plans (0.4–0.8 positionRisk requests per executed plan, against ~1.6 unshared). Positions from the
  user data stream would remove the reads; not done.

### The round before: what the venue's limits did to the pipeline, and what changed

- **Before (A = 33ac65f)** apply and the governor each read \`positionRisk\` for every plan: weight 5 each, ~10 a
  plan with the orders, so one account's 2,400 a minute carried ~230 plans. Past that the adapters refused their own
  reads (\`exchange_read_failed:rate_limited\`; the governor blocks \`position_fetch_failed\`), and three refused
  governor reads within 5 minutes **auto-disarmed the apply layer**: every later plan \`BLOCKED kill_switch_active\`
  until an operator re-arms. At 5 plans/s that took ~40 s. A market moving against many positions at once is
  exactly when exits come in a burst.
- **Now (B)**, once 40 % of the minute's weight is used, each adapter shares its position reads
  (src/exchange/binance/position-reads.ts): calls wait for one account-wide read (weight 5 for every symbol),
  sent after each call it answers, so no caller gets an older position than its own read would have given; reads
  are spaced so that each adapter spends at most a third of the weight left in the minute (250 ms – 2 s apart).
  The governor, which already reused a read for 1 s, may be answered from the last account-wide read without
  waiting. Up to 15 plans/s nothing was refused and nothing disarmed; the cost is latency once reads are shared
  (p50 0.05–0.4 s, p99 0.6–1.8 s, against ~7 ms), and at 15/s 18 plans \`BLOCKED permit_timeout\`: the governor's
  batch waited on a shared read longer than apply's 1.2 s permit wait (nothing consumed, no order).
- **A read refused for the weight no longer counts towards auto-disarm** (it still blocks its plan,
  \`position_fetch_failed\` with error \`rate_limited\`; other failures still count, 3 in 5 minutes): the budget is back
  within a minute, and a disarm stops trading until an operator re-arms.
- **20 plans/s is the venue's order limit** (1,200 a minute). The paper exchange charges weight 1 per order, so at
  20/s the orders alone spend half the minute and some reads are refused again: 120 plans
  \`exchange_read_failed:rate_limited\`, 13 \`p33_permit_denied\` (likely stale snapshots: P3.3's refresh is an
  account-wide read that the same budget refuses; this bench does not break the deny reasons out), 33 \`permit_timeout\`; 86 % of the plans executed, and nothing disarmed (A: 1,007 \`kill_switch_active\`).
- **Without the headers nothing changes** (the Pipeline section's load): \`npx tsx bench/pipeline-ab.ts --a
  .bench-tmp/pipeline-A --b .bench-tmp/pipeline --rate 1000 --runs 3 --seconds 10\`, medians: 1,001 vs 1,002 plans/s,
  p50 14.8 vs 14.6 ms, p99 37.5 vs 33.7 ms, 1.657 vs 1.656 positionRisk reads per plan, CPU per 1,000 plans within
  0.01 s for every process.

The round before's run (\`--rates 5,10,15,20 --seconds 60\`; Intel Xeon host; the paper exchange then charged weight 1
per order; A = 33ac65f, B = 93a21b3):

| offered /s | build | results | EXECUTE | refused (rate_limited) | BLOCKED kill_switch_active | permit timeout | other | p50 ms | p99 ms |
|---|---|---|---|---|---|---|---|---|---|
| 5 | A | 300 | 185 | 5 | 110 | 0 | 0 | 7.21 | 22.56 |
| 5 | B | 300 | 300 | 0 | 0 | 0 | 0 | 54.38 | 613.37 |
| 10 | A | 600 | 171 | 3 | 426 | 0 | 0 | 7.20 | 14.66 |
| 10 | B | 596 | 596 | 0 | 0 | 0 | 0 | 178.84 | 987.93 |
| 15 | A | 900 | 156 | 4 | 740 | 0 | 0 | 6.01 | 12.08 |
| 15 | B | 879 | 861 | 0 | 0 | 18 | 0 | 423.87 | 1812.52 |
| 20 | A | 1200 | 189 | 4 | 1007 | 0 | 0 | 5.99 | 14.43 |
| 20 | B | 1195 | 1028 | 121 | 0 | 33 | 13 | 555.56 | 2128.85 |
`;
