--[[
  createIntent: write a plan's order intent (state=sending) only while our symbol lease holds
  and no intent exists yet: the fence that keeps a paused replica whose lease expired from
  sending, and the single-creator rule that makes one sender per plan.

  Input:
    KEYS[1]      intent key (quantum:apply:intent:<id>; cluster mode: ...:{<S>}:<id>)
    KEYS[2]      lease key (quantum:apply:lease:<S>; cluster mode: ...:{<S>}, the same slot)
    ARGV[1]      our lease token
    ARGV[2]      intent TTL in seconds
    ARGV[3..]    intent fields and values, alternating

  Output:
    {'written'}         intent created
    {'lease_lost'}      the lease is not ours (expired, taken over): nothing written
    {'intent_exists'}   an intent for this plan exists already: nothing written
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return {'lease_lost'}
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'intent_exists'}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {'written'}
