--[[
  acquireLease: take a free lease or extend our own (apply replicas: one owner per symbol).

  Input:
    KEYS[1]      lease key (quantum:apply:lease:<S>)
    ARGV[1]      our token
    ARGV[2]      lease TTL in milliseconds

  Output:
    {'acquired'}          the lease was free: set to our token with the TTL
    {'renewed'}           the lease was ours: TTL reset
    {'held', pttl}        another token holds it; its PTTL in ms
]]
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {'acquired'}
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'renewed'}
end
return {'held', redis.call('PTTL', KEYS[1])}
