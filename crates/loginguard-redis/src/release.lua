-- record::release for KEYS[1]. ARGV[10..12]: reset (0/1), attempt_time,
-- undo_lock (0/1); ARGV[13]: the attempt's tag ('' = none). Returns 1 when
-- a record was there.
local key = KEYS[1]
local raw = redis.call('GET', key)
if not raw then return 0 end
local rec = parse(key, raw)
if ARGV[10] == '1' then
  redis.call('DEL', key)
  return 1
end
-- The comma-separated `list` without its newest `item`, if it holds it:
-- the list with a comma at each end holds each item as ",item,".
local function without_newest(list, item)
  local listed = ',' .. list .. ','
  local entry = ',' .. item .. ','
  local at = string.find(listed, entry, 1, true)
  if not at then return list end
  local next_at = string.find(listed, entry, at + 1, true)
  while next_at do
    at = next_at
    next_at = string.find(listed, entry, at + 1, true)
  end
  return string.sub(string.sub(listed, 1, at) .. string.sub(listed, at + #entry), 2, -2)
end
-- The attempt's own failure, and its tag ("attempt_time:tag"), go.
rec.fails = without_newest(rec.fails, ARGV[11])
if TAG ~= '' and rec.tags ~= '' then
  rec.tags = without_newest(rec.tags, ARGV[11] .. ':' .. TAG)
end
prune(rec, NOW, WINDOW)
if ARGV[12] == '1' and rec.locked and rec.n < LIMIT then
  -- The attempt set the lock and the count is back under the limit: the
  -- lock is lifted (lock counts are stored as plain digits: "0" is none).
  rec.locked = false
  rec.until_, rec.until_s = nil, ''
  rec.refused_s = '0'
  if rec.count_s ~= '0' then rec.count_s = fmt(tonumber(rec.count_s) - 1) end
end
if rec.n == 0 and not rec.locked and rec.count_s == '0' then
  redis.call('DEL', key)
else
  store(key, rec, NOW, NOW_S, WINDOW)
end
return 1
