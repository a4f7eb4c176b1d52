--[[
  applyLedgerResults: move the P3.3 ledgers with a batch of result entries, in stream order, in one
  step: per entry the cursor check and the compare-and-set on its ledger, the cursor written once
  at the end. Stops at the first conflict, so the cursor never passes an entry not applied.

  Input:
    KEYS[1]        cursor (quantum:position:ledger_cursor): id of the last result entry handled
    KEYS[2..M+1]   the ledger hashes the entries touch (quantum:position:ledger:<S>), distinct
    ARGV[1]        ledger TTL, seconds
    ARGV[2..]      6 per entry, in stream order:
                     entry id (a result entry id)
                     ledger: index into KEYS (2..M+1), or 0 when the entry moves only the cursor
                     expectation on the ledger: 'absent', 'value' (last_known_amt == next) or 'any'
                     expected last_known_amt (text, compared as written)
                     ledger fields and values, alternating, as a JSON array ('[]': none)
                     '1': renew the ledger's TTL; '0': leave it (the caller renewed it lately),
                     unless the write creates the ledger (every field new)

  Output: one code per entry, in order, ending at the first 'conflict' (later entries untouched)
    'applied'           ledger written (when fields were given) and the cursor moved past the entry
    'already_applied'   the cursor is at or past this entry: nothing written
    'conflict'          the ledger is not what the caller read: nothing written from here on
]]
local function newer(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if not ams then return false end
  if not bms then return true end
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams > bms or (ams == bms and aseq > bseq)
end

local cursor = redis.call('GET', KEYS[1])
local moved = false
local out = {}
for base = 2, #ARGV - 5, 6 do
  local id, ledger, expect = ARGV[base], tonumber(ARGV[base + 1]), ARGV[base + 2]
  if cursor and not newer(id, cursor) then
    out[#out + 1] = 'already_applied'
  else
    local key = ledger > 0 and KEYS[ledger] or nil
    if key and expect == 'absent' and redis.call('EXISTS', key) == 1 then
      out[#out + 1] = 'conflict'
      break
    end
    if key and expect == 'value' and redis.call('HGET', key, 'last_known_amt') ~= ARGV[base + 3] then
      out[#out + 1] = 'conflict'
      break
    end
    local fields = cjson.decode(ARGV[base + 4])
    if key and #fields > 0 then
      local added = redis.call('HSET', key, unpack(fields))
      if added * 2 == #fields or ARGV[base + 5] == '1' then
        redis.call('EXPIRE', key, ARGV[1])
      end
    end
    cursor = id
    moved = true
    out[#out + 1] = 'applied'
  end
end
if moved then redis.call('SET', KEYS[1], cursor) end
return out
