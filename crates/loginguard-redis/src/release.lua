-- record::release for KEYS[1]. ARGV[10..12]: reset (0/1), attempt_time,
-- undo_lock (0/1). Returns 1 when a record was there.
local key = KEYS[1]
if not load(key) then return 0 end
if ARGV[10] == '1' then
  redis.call('DEL', key)
  return 1
end
local attempt = ARGV[11]
for i = #failures, 1, -1 do
  if failures[i] == attempt then
    table.remove(failures, i)
    break
  end
end
prune()
if ARGV[12] == '1' and locked and #failures < LIMIT then
  locked = false
  set_until(nil)
  if lock_count > 0 then lock_count = lock_count - 1 end
end
if is_empty() then
  redis.call('DEL', key)
else
  store(key)
end
return 1
