--[[
  grantPermit: decide one governor plan atomically with its counting, so that two governor
  consumers can never both pass a limit, and a plan is never granted twice.
  Same arithmetic as src/domain/governor/gates.ts (a test feeds both the same inputs).

  Input:
    KEYS[1]   decision marker (quantum:governor:decided:<id>)
    KEYS[2]   permit key (quantum:permit:<id>)
    KEYS[3]   block record key (quantum:governor:block:<id>)
    KEYS[4]   execution list (quantum:governor:exec:<S>)
    KEYS[5]   daily total (quantum:governor:daily:<S>:<YYYY-MM-DD>)
    ARGV[1]   now, unix seconds (float)
    ARGV[2]   enforce limits: '1', or '0' (GOV_AUTO_APPROVE: grant without the counting gates)
    ARGV[3]   max executions per hour
    ARGV[4]   max executions per 5 minutes
    ARGV[5]   amount this execution adds to the daily total
    ARGV[6]   daily cap for that amount
    ARGV[7]   permit body (JSON)
    ARGV[8]   permit TTL, seconds
    ARGV[9]   block record TTL, seconds (also the decision marker's TTL)
    ARGV[10]  symbol (for the block record)
    ARGV[11]  execution list length kept (100) and ARGV[12] its TTL and the daily key's TTL (86400)
    ARGV[13]  '1': renew the execution list's TTL; '0': leave it as it is (the caller renewed it
              lately), unless this grant creates the list

  Output: {code, executions in the last hour, in the last 5 minutes, daily total before}
    'granted'                 permit SET (EX), execution and amount counted, marker set
    'already_decided'         marker, permit or block record exists: nothing written
    'hourly_limit_exceeded'   block record + marker written, nothing counted
    'burst_limit_exceeded'    likewise
    'daily_limit_exceeded'    likewise
    'daily_total_invalid'     the stored daily total is not a plain decimal: block record (limit_computation_error)
]]
if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) > 0 then
  return {'already_decided', '0', '0', '0'}
end

local now = tonumber(ARGV[1])
local hour, five = 0, 0
for _, v in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
  local ts = tonumber(v)
  if ts and ts > -math.huge and ts < math.huge then
    if ts > now - 3600 then hour = hour + 1 end
    if ts > now - 300 then five = five + 1 end
  end
end

local raw = redis.call('GET', KEYS[5])
local total = 0
-- Only a plain decimal, as INCRBYFLOAT writes it: blanks, hex and the like are refused here,
-- before any write, since INCRBYFLOAT would refuse them after the permit was written (a script
-- does not roll back), leaving a permit whose amount no daily total counts.
if raw then
  if string.match(raw, '^%-?%d+%.?%d*$') or string.match(raw, '^%-?%d+%.?%d*[eE][%-+]?%d+$') then
    total = tonumber(raw)
  else
    total = nil
  end
end

local function block(code, reason)
  local body = cjson.encode({reason = reason, timestamp = now, symbol = ARGV[10]})
  redis.call('SET', KEYS[3], body, 'EX', ARGV[9])
  redis.call('SET', KEYS[1], reason, 'EX', ARGV[9])
  return {code, tostring(hour), tostring(five), raw or '0'}
end

-- The contract's order: the hourly and 5-minute limits, then the daily total (a stored total
-- that is not a number blocks even without enforcement: nothing could be counted).
local enforce = ARGV[2] == '1'
if enforce then
  if hour >= tonumber(ARGV[3]) then return block('hourly_limit_exceeded', 'hourly_limit_exceeded') end
  if five >= tonumber(ARGV[4]) then return block('burst_limit_exceeded', 'burst_limit_exceeded') end
end
if not total or not (total > -math.huge and total < math.huge) then
  return block('daily_total_invalid', 'limit_computation_error')
end
if enforce and total + tonumber(ARGV[5]) > tonumber(ARGV[6]) then
  return block('daily_limit_exceeded', 'daily_limit_exceeded')
end

redis.call('SET', KEYS[2], ARGV[7], 'EX', ARGV[8])
redis.call('SET', KEYS[1], 'granted', 'EX', ARGV[9])
-- The list is trimmed only once it is longer than kept (LPUSH returns the length); its TTL is
-- set when this creates it (length 1) and renewed when the caller asks (ARGV[13], once a minute
-- per symbol). The daily key is one day's: its TTL is set when this creates it (raw was nil), a
-- day from its first amount.
local keep = tonumber(ARGV[11])
local length = redis.call('LPUSH', KEYS[4], ARGV[1])
if length > keep then
  redis.call('LTRIM', KEYS[4], 0, keep - 1)
end
if length == 1 or ARGV[13] == '1' then
  redis.call('EXPIRE', KEYS[4], ARGV[12])
end
redis.call('INCRBYFLOAT', KEYS[5], ARGV[5])
if not raw then
  redis.call('EXPIRE', KEYS[5], ARGV[12])
end
return {'granted', tostring(hour), tostring(five), raw or '0'}
