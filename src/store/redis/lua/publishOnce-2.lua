--[[
  publishOnce: mark a plan as published and append its stream entry, at most once per marker.

  Input:
    KEYS[1]      marker key (quantum:apply:stream_published:<id>)
    KEYS[2]      stream key
    ARGV[1]      marker TTL in seconds
    ARGV[2]      MAXLEN ~ bound for the stream (0: no trimming)
    ARGV[3..]    entry fields and values, alternating

  Output:
    {'published', entry_id}   marker was absent: set with TTL, entry appended
    {'exists'}                marker already present: nothing written
]]
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return {'exists'}
end
local id
if tonumber(ARGV[2]) > 0 then
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
else
  id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
end
return {'published', id}
