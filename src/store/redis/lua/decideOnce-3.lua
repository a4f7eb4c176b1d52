--[[
  decideOnce: write an authority's record for a plan (a governor block record, a P3.3 allow or
  deny permit) at most once per plan, even across reclaimed entries and consumed permits.

  Input:
    KEYS[1]   decision marker (quantum:<authority>:decided:<id>)
    KEYS[2]   record key written here (block record or permit)
    KEYS[3]   another key whose existence also means decided (the governor permit; may repeat KEYS[2])
    ARGV[1]   marker value (the outcome, e.g. the reason)
    ARGV[2]   marker TTL, seconds
    ARGV[3]   record body
    ARGV[4]   record TTL, seconds

  Output:
    'written'           marker and record SET with their TTLs
    'already_decided'   marker or either key existed: nothing written
]]
if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) > 0 then
  return 'already_decided'
end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 'written'
