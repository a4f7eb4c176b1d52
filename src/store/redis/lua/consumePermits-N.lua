--[[
  consumePermits: consume a set of permits all at once or not at all, idempotent per token.

  Input:
    KEYS[1]        receipt key (quantum:apply:consumed:<id>)
    KEYS[2..N+1]   permit keys, N >= 1 (3 keys in all with the default governor + p33 pair)
    ARGV[1]        token: unique per wait; re-running with the same token replays its outcome
    ARGV[2]        receipt TTL in seconds
    ARGV[3]        '1': on 'missing', read the PTTL of present permits; '0': report them as -3

  Output:
    {'consumed', body_1, ..., body_N}   every permit existed; all deleted; receipt written
    {'replayed', body_1, ..., body_N}   receipt holds this token: the bodies it consumed earlier
    {'missing', ttl_1, ..., ttl_N}      a permit is absent; nothing deleted; ttl_i: PTTL (-2 absent,
                                        -1 no expiry), or -3 (present, not read) when ARGV[3] is '0'
    {'consumed_elsewhere'}              receipt holds another token: another attempt consumed the set
]]
-- One MGET reads the receipt and every body: the hot path stays at 3 commands when consuming.
local values = redis.call('MGET', unpack(KEYS))
local receipt = values[1]
if receipt then
  local stored = cjson.decode(receipt)
  if stored['token'] == ARGV[1] then
    local out = {'replayed'}
    for i = 1, #stored['bodies'] do out[i + 1] = stored['bodies'][i] end
    return out
  end
  return {'consumed_elsewhere'}
end

local n = #KEYS - 1
local bodies = {}
local complete = true
for i = 1, n do
  bodies[i] = values[i + 1]
  if not bodies[i] then complete = false end
end

if not complete then
  local out = {'missing'}
  for i = 1, n do
    if not bodies[i] then
      out[i + 1] = -2
    elseif ARGV[3] == '1' then
      out[i + 1] = redis.call('PTTL', KEYS[i + 1])
    else
      out[i + 1] = -3
    end
  end
  return out
end

redis.call('DEL', unpack(KEYS, 2))
redis.call('SET', KEYS[1], cjson.encode({token = ARGV[1], bodies = bodies}), 'EX', ARGV[2])
local out = {'consumed'}
for i = 1, n do out[i + 1] = bodies[i] end
return out
