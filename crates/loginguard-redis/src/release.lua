-- record::release for KEYS[1]. ARGV[10..12]: reset (0/1), attempt_time,
-- undo_lock (0/1). Returns 1 when a record was there.
local L = limits(ARGV)
local key = KEYS[1]
local r, found = load(key)
if r.err then return r end
if not found then return 0 end
if ARGV[10] == '1' then
  redis.call('DEL', key)
  return 1
end
local attempt = tonumber(ARGV[11])
for i = #r.failures, 1, -1 do
  if r.failures[i] == attempt then
    table.remove(r.failures, i)
    break
  end
end
prune(r, L)
if ARGV[12] == '1' and r.locked and #r.failures < L.limit then
  r.locked = false
  r.until_ = nil
  if r.count > 0 then r.count = r.count - 1 end
end
if is_empty(r) then
  redis.call('DEL', key)
else
  store(key, r, L)
end
return 1
