--[[
  seedLedgers: create each P3.3 ledger that does not exist yet, from the exchange amount of a
  snapshot refresh, and leave every existing one alone (what applyLedgerResults does for an
  entry with expectation 'absent', without moving the cursor). When every ledger exists, as on almost every
  refresh, one EXISTS over all of them is the whole cost.

  Input:
    KEYS[1..N]     ledger hashes (quantum:position:ledger:<S>), all distinct; in cluster key mode
                   all carry the ledger tag, so they share one slot
    ARGV[1]        ledger TTL, seconds
    ARGV[2..N+1]   ARGV[i+1] holds KEYS[i]'s fields and values, alternating, as a JSON array

  Output: one flag per key, in KEYS order
    1   the ledger was absent: written with the TTL
    0   the ledger exists: untouched
]]
local out = {}
if redis.call('EXISTS', unpack(KEYS)) == #KEYS then
  for i = 1, #KEYS do out[i] = 0 end
  return out
end
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    out[i] = 0
  else
    redis.call('HSET', KEYS[i], unpack(cjson.decode(ARGV[i + 1])))
    redis.call('EXPIRE', KEYS[i], ARGV[1])
    out[i] = 1
  end
end
return out
