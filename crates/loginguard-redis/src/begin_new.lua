-- The start of begin_all.lua, before record.lua is even defined: on Redis
-- 7+ (ARGV[3] = '1'), the keys of the attempt are tried in order with one
-- `SET … NX GET` each, which stores a new key's record (ARGV[s+11], its TTL
-- ARGV[s+12]) and stops at the first key that is stored already. An
-- attempt whose keys are all new (the credential-stuffing spray: none can
-- be locked) ends here, with no more Lua run than that. Otherwise NEW
-- keys were new and FOUND holds what the next one answered (its value, or
-- an error), for begin_all.lua to go on from.
local NEW, FOUND = 0, nil
if ARGV[3] == '1' then
  for i = 1, #KEYS do
    local s = 3 + 12 * (i - 1)
    local raw = redis.pcall('SET', KEYS[i], ARGV[s + 11], 'NX', 'GET', 'PX', ARGV[s + 12])
    if raw then
      FOUND = raw
      break
    end
    NEW = i
  end
  if NEW == #KEYS then
    local reply = {}
    for i = 1, #KEYS do
      local r = 7 * (i - 1)
      reply[r + 1], reply[r + 2], reply[r + 3], reply[r + 4] = 2, 0, 0, 0
      reply[r + 5], reply[r + 6], reply[r + 7] = 0, 0, 0
    end
    return reply
  end
end
