--[[
  publishPlan: the apply layer's steps for a decided plan, in one call: stop if its result is
  already published; for an EXECUTE plan, SET NX its dedupe key and stop if it existed (the caller
  decides between a duplicate and its own plan to resume); then publishOnce the plan entry.

  Input:
    KEYS[1]      result marker (quantum:apply:result_published:<id>)
    KEYS[2]      dedupe key (quantum:apply:dedupe:<id>); untouched unless ARGV[1] is '1'
    KEYS[3]      plan marker (quantum:apply:stream_published:<id>)
    KEYS[4]      plan stream
    ARGV[1]      '1': an EXECUTE plan, whose dedupe key is SET NX here; '0': no dedupe
    ARGV[2]      dedupe value (unix seconds)
    ARGV[3]      dedupe TTL in seconds
    ARGV[4]      plan marker TTL in seconds
    ARGV[5]      MAXLEN ~ bound for the stream (0: no trimming)
    ARGV[6..]    entry fields and values, alternating

  Output:
    {'handled'}                    the result marker exists: nothing written
    {'duplicate'}                  the dedupe key existed: nothing written
    {'published', entry_id, set}   entry appended; set: '1' when this call set the dedupe key
    {'exists', set}                plan marker already present: not appended; set as above
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'handled'}
end
local set = '0'
if ARGV[1] == '1' then
  if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[3]) then
    return {'duplicate'}
  end
  set = '1'
end
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then
  return {'exists', set}
end
local id
if tonumber(ARGV[5]) > 0 then
  id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', unpack(ARGV, 6))
else
  id = redis.call('XADD', KEYS[4], '*', unpack(ARGV, 6))
end
return {'published', id, set}
