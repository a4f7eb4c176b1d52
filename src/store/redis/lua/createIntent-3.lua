--[[
  createIntent: write a plan's order intent (state=sending) only while our symbol lease holds,
  no intent exists yet and, when asked, the consume it follows took the plan's permits: the
  fence that keeps a paused replica whose lease expired from sending, the single-creator rule
  that makes one sender per plan, and the condition that lets the intent be sent right behind
  its consume, in the same round trip, before that consume's outcome is known.

  Input:
    KEYS[1]      intent key (quantum:apply:intent:<id>; cluster mode: ...:{<S>}:<id>)
    KEYS[2]      lease key (quantum:apply:lease:<S>; cluster mode: ...:{<S>}, the same slot)
    KEYS[3]      the plan's consume receipt (quantum:apply:consumed:<id>; the same slot)
    ARGV[1]      our lease token; '' when apply runs without leases (no fence)
    ARGV[2]      the consume's token; '' when the permits are known consumed (no condition)
    ARGV[3]      intent TTL in seconds
    ARGV[4..]    intent fields and values, alternating

  Output:
    {'written'}         intent created
    {'lease_lost'}      the lease is not ours (expired, taken over): nothing written
    {'not_consumed'}    the receipt does not hold the consume's token (that consume found a permit
                        missing, or another attempt took them): nothing written
    {'intent_exists'}   an intent for this plan exists already: nothing written
]]
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return {'lease_lost'}
end
if ARGV[2] ~= '' then
  local receipt = redis.call('GET', KEYS[3])
  local ok, stored = false, nil
  if receipt then ok, stored = pcall(cjson.decode, receipt) end
  if not ok or type(stored) ~= 'table' or stored['token'] ~= ARGV[2] then
    return {'not_consumed'}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'intent_exists'}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {'written'}
