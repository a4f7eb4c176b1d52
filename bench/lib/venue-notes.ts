/** Hand-written findings of the venue bench (bench/venue.ts appends them to its section). */
export const VENUE_NOTES = `### What the venue's limits do to the pipeline, and what changed

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
`;
