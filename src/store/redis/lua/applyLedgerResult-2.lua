--[[
  applyLedgerResult: compare-and-set the P3.3 ledger and advance the result-stream cursor in one
  step, so each executed result moves the ledger exactly once, and an operator's hand edit made
  between our read and our write is never overwritten.

  Input:
    KEYS[1]   ledger hash (quantum:position:ledger:<S>)
    KEYS[2]   cursor (quantum:position:ledger_cursor): id of the last result entry handled
    ARGV[1]   result entry id ('' when seeding: the cursor is neither checked nor moved)
    ARGV[2]   expectation on the ledger: 'absent', 'value' (last_known_amt == ARGV[3]) or 'any'
    ARGV[3]   expected last_known_amt (text, compared as written)
    ARGV[4]   ledger TTL, seconds
    ARGV[5..] ledger fields and values, alternating (none: only the cursor moves)

  Output:
    'applied'           ledger written (when fields were given) and cursor moved
    'already_applied'   the cursor is at or past this entry: nothing written
    'conflict'          the ledger is not what the caller read: nothing written; read and retry
]]
local function newer(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if not ams then return false end
  if not bms then return true end
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams > bms or (ams == bms and aseq > bseq)
end

if ARGV[1] ~= '' then
  local cursor = redis.call('GET', KEYS[2])
  if cursor and not newer(ARGV[1], cursor) then return 'already_applied' end
end

if ARGV[2] == 'absent' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 'conflict' end
elseif ARGV[2] == 'value' then
  if redis.call('HGET', KEYS[1], 'last_known_amt') ~= ARGV[3] then return 'conflict' end
end

if #ARGV > 4 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 5))
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
if ARGV[1] ~= '' then redis.call('SET', KEYS[2], ARGV[1]) end
return 'applied'
