/** Hand-written findings of the venue bench (bench/venue.ts appends them to its section). */
export const VENUE_NOTES = `### This round: a lookup before every send, and the position read after the consume

A = edd2005 (the build before «Exposure safety»), B = this round: 7f07aa9 for the first 10/s and the first two 20/s
runs, cfbf6a4 (the lookup no longer spends the recovery reserve) for the rest. One AMD EPYC host (2 shared cores),
builds one after the other per rate, in this order: 10/s and 20/s, 20/s, 20/s, then 10/s and 15/s.

| offered /s | build | EXECUTE / results | refused or blocked (why) | p50 ms | p99 ms |
|---|---|---|---|---|---|
| 10 | A | 600 / 600, 598 / 598 | none | 191, 171 | 520, 524 |
| 10 | B | 592 / 592, 595 / 595 | none | 187, 286 | 815, 1,027 |
| 15 | A | 900 / 900 | none | 215 | 1,328 |
| 15 | B | 875 / 900 | 11 \`order_lookup_failed\`, 10 \`exchange_read_failed:rate_limited\`, 4 \`missing_governor\` | 317 | 1,031 |
| 20 | A | 1,193 / 1,193, 1,197 / 1,197, 1,193 / 1,193 | none | 188, 260, 229 | 591, 619, 597 |
| 20 | B | 1,187 / 1,187, 803 / 1,176, 1,007 / 1,176 | up to 197 \`missing_governor\`, 92 \`p33_permit_denied\`, 80 rate limited, 34 \`order_lookup_failed\` | 260, 583, 504 | 1,400, 1,950, 1,923 |

- **One account now carries about 10 plans/s cleanly, against 20 before.** Two requirements of «Exposure safety»
  cost request weight and latency on the venue:
  - the client order id is looked up before every first send (\`GET /fapi/v1/order\`, weight 1, never shared): at
    20/s that is 1,200 of the minute's 2,400, so the shared position reads are spaced wider, the governor's reads
    outlast apply's 1.2 s permit wait (\`permit_timeout_or_missing:missing_governor\`), and some lookups are refused
    locally (\`order_lookup_failed\`: nothing is sent, as when the exchange cannot answer);
  - apply's position read comes after the consume, so it no longer overlaps the permit wait: once reads are shared,
    each order waits for the next account-wide read.
- Every refusal fails closed (no order, a result that says why); no plan ordered twice or beyond its plan.
- The lookup runs as an ordinary read, not a recovery query: the 5 % kept for recovering orders stays theirs.
- **What would give the weight back**: positions from Binance's user data stream instead of REST reads (issue «Account
  state in real time»); the lookup itself is what makes a plan id execute once, ever, and stays.
`;
