--[[
  grantCloseQty: P3.3's allow for a close, atomic with the reservation of its quantity, so that
  two plans of one symbol evaluated from the same reads can never both be granted from the same
  free quantity: the grant goes through only while the reservation hash is the one the
  evaluation read (its seq unchanged), and bumps seq for everyone else.

  Input:
    KEYS[1]   decision marker (quantum:p33:decided:<id>)
    KEYS[2]   P3.3 permit (quantum:permit:p33:<id>)
    KEYS[3]   the symbol's reservation hash (quantum:p33:reserved:<S>)
    ARGV[1]   marker value ('allow')
    ARGV[2]   marker TTL, seconds
    ARGV[3]   permit body (JSON)
    ARGV[4]   permit TTL, seconds
    ARGV[5]   seq as the evaluation read it ('' when the hash had none)
    ARGV[6]   reservation field (plan:<id>)
    ARGV[7]   reservation value (JSON: qty, at, until)
    ARGV[8]   granted_at, unix seconds (the grant cooldown's start)
    ARGV[9]   hash TTL, seconds (outlives every reservation kept and the cooldown)
    ARGV[10..] fields to delete: reservations the evaluation found lapsed

  Output:
    'granted'           permit and marker SET with their TTLs; lapsed fields deleted; the
                        reservation, seq + 1 and granted_at written; the hash's TTL set
    'already_decided'   marker or permit exists: nothing written
    'conflict'          seq is not the one read (another grant, or the hash expired): nothing
                        written; the caller evaluates again from fresh reads
]]
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
  return 'already_decided'
end
local seq = redis.call('HGET', KEYS[3], 'seq') or ''
if seq ~= ARGV[5] then
  return 'conflict'
end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if #ARGV >= 10 then
  redis.call('HDEL', KEYS[3], unpack(ARGV, 10))
end
local nextSeq = string.format('%d', (tonumber(seq) or 0) + 1)
redis.call('HSET', KEYS[3], ARGV[6], ARGV[7], 'seq', nextSeq, 'granted_at', ARGV[8])
redis.call('EXPIRE', KEYS[3], ARGV[9])
return 'granted'
