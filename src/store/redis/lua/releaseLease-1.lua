--[[
  releaseLease: give up our lease (graceful stop), never someone else's.

  Input:
    KEYS[1]      lease key
    ARGV[1]      our token

  Output:
    {'released'}     it was ours and is deleted
    {'not_held'}     absent or held by another token: untouched
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {'released'}
end
return {'not_held'}
