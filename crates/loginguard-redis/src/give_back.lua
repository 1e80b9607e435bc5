-- record::release without reset, on top of record.lua (joined with it for
-- the scripts that give attempts back: begin_all.lua, release_all.lua).

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

-- record::release without reset on `rec`, under the key's settings after
-- `s`: the attempt begun at `at_s` gives back its failure and its tag
-- (ARGV[s+9]), and with `undo` the lock it set is lifted if the count is
-- back under the limit. Returns whether the record is left empty (then it
-- is deleted rather than stored).
local function give_back(rec, now, window, s, at_s, undo)
  rec.fails = without_newest(rec.fails, at_s)
  local tag = ARGV[s + 9]
  if tag ~= '' and rec.tags ~= '' then
    rec.tags = without_newest(rec.tags, at_s .. ':' .. tag)
  end
  prune(rec, now, window)
  if undo and rec.locked and rec.n < tonumber(ARGV[s + 1]) then
    -- The attempt set the lock and the count is back under the limit: the
    -- lock is lifted (lock counts are stored as plain digits: "0" is none).
    rec.locked = false
    rec.until_, rec.until_s = nil, ''
    rec.refused_s = '0'
    if rec.count_s ~= '0' then rec.count_s = fmt(tonumber(rec.count_s) - 1) end
  end
  return rec.n == 0 and not rec.locked and rec.count_s == '0'
end
