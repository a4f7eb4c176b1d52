--[[
  acquireLeases: acquireLease for a batch of leases in one call (a replica renews every symbol it
  leases every ttl/3): take each free lease, extend each one we hold, leave the others alone.
  One MGET reads every lease, so a renewal costs the read plus one PEXPIRE per lease.

  Input:
    KEYS[1..N]   lease keys (quantum:apply:lease:<S>); in cluster key mode all in one hash slot
    ARGV[1]      our token
    ARGV[2]      lease TTL in milliseconds

  Output: one code per key, in KEYS order
    'acquired'   the lease was free: set to our token with the TTL
    'renewed'    the lease was ours: TTL reset
    'held'       another token holds it (or the key is not a lease): untouched
]]
local current = redis.call('MGET', unpack(KEYS))
local out = {}
for i = 1, #KEYS do
  if current[i] == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    out[i] = 'renewed'
  elseif not current[i] and redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    out[i] = 'acquired'
  else
    out[i] = 'held'
  end
end
return out
