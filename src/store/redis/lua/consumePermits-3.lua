--[[
  consumePermits: consume a set of permits all at once or not at all, idempotent per token.

  Input:
    KEYS[1]        receipt key (quantum:apply:consumed:<id>)
    KEYS[2..N+1]   permit keys, N >= 1 (3 keys in all with the default governor + p33 pair)
    ARGV[1]        token: unique per consume attempt; re-running with the same token replays
    ARGV[2]        receipt TTL in seconds

  Output:
    {'consumed', body_1, ..., body_N}   every permit existed; all deleted; receipt written
    {'replayed', body_1, ..., body_N}   receipt holds this token: the bodies it consumed earlier
    {'missing', pttl_1, ..., pttl_N}    at least one permit absent; nothing deleted (-2 absent, -1 no TTL)
    {'consumed_elsewhere'}              receipt holds another token: another attempt consumed the set
]]
local receipt = redis.call('GET', KEYS[1])
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
  local body = redis.call('GET', KEYS[i + 1])
  if not body then
    complete = false
    break
  end
  bodies[i] = body
end

if not complete then
  local out = {'missing'}
  for i = 1, n do out[i + 1] = redis.call('PTTL', KEYS[i + 1]) end
  return out
end

redis.call('DEL', unpack(KEYS, 2))
redis.call('SET', KEYS[1], cjson.encode({token = ARGV[1], bodies = bodies}), 'EX', ARGV[2])
local out = {'consumed'}
for i = 1, n do out[i + 1] = bodies[i] end
return out
