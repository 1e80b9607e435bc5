-- Deletes KEYS[1] if its record (see record.lua; version 1 or 2) expired
-- at ARGV[1] (ms).
-- Returns 1 if deleted.
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local e = tonumber(string.match(raw, '^[12]|[01]|[^|]*|[^|]*|[^|]*|([^|]*)|'))
if e ~= nil and e <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
