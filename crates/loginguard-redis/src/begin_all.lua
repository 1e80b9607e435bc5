-- loginguard_core::batch::begin_records over KEYS, in order: record::begin
-- on each key; a spray key (ARGV[s+10] = '1') is skipped once an earlier
-- key is locked; and when any key is locked, every key that counted the
-- attempt and gives a refused attempt back (a spray key always, another
-- key unless its refused attempts count: ARGV[s+6]) gives it back in the
-- same step. (One key alone takes begin.lua.)
--
-- ARGV[3] = '1': the server has `SET … NX GET` (Redis 7.0+). ARGV[s+11],
-- ARGV[s+12]: the record of the key if it is new, and its TTL, computed by
-- the caller with the same rules (a new key's record depends on nothing
-- stored); it is stored at once when the key is absent (one command on
-- Redis 7+; begin_new.lua, which runs first, has done so for the leading
-- new keys). A record that exists is written once, after every rule.
--
-- Returns seven integers per key: code (0 locked, 1 allowed, 2 new: the
-- caller's own verdict, 3 skipped), failures, remaining, locks_on_failure,
-- has_until, until, counted. When a key holds something that is not a
-- record, the new keys stored so far are given back, nothing else is
-- written, and the reply is an error.
local nx = ARGV[3] == '1'
local reply = {}
local held = {} -- the records read, by key (a key may come twice)
local locked = false
local failed, failed_at = nil, 0

for i = 1, #KEYS do
  local key, s, r = KEYS[i], 3 + 12 * (i - 1), 7 * (i - 1)
  local rec = false
  if i <= NEW then
    rec = nil -- stored new by begin_new.lua
  elseif not (locked and ARGV[s + 10] == '1') then
    rec = held[key]
    if rec == nil then
      local raw
      if i == NEW + 1 and FOUND ~= nil then
        raw = FOUND -- what begin_new.lua's `SET … NX GET` found
      elseif nx then
        raw = redis.pcall('SET', key, ARGV[s + 11], 'NX', 'GET', 'PX', ARGV[s + 12])
      else
        raw = redis.pcall('GET', key)
        if raw == false then redis.call('SET', key, ARGV[s + 11], 'PX', ARGV[s + 12]) end
      end
      if type(raw) == 'table' then
        failed, failed_at = raw.err, i
        break
      end
      if raw then
        rec = parse(key, raw)
        if rec == nil then
          failed, failed_at = 'loginguard: unknown record format in ' .. key, i
          break
        end
        held[key] = rec
      end
    end
  end
  if rec then
    -- record::begin, written below.
    local window = tonumber(ARGV[s + 2])
    local allowed, remaining, locks, counted = begin(rec, NOW, NOW_S, window, s)
    rec.s, rec.win = s, window
    local has_until = (locks or not allowed) and rec.until_ ~= nil
    reply[r + 1] = allowed and 1 or 0
    reply[r + 2] = rec.n
    reply[r + 3] = remaining
    reply[r + 4] = locks and 1 or 0
    reply[r + 5] = has_until and 1 or 0
    reply[r + 6] = has_until and rec.until_ or 0
    reply[r + 7] = counted and 1 or 0
    if not allowed then locked = true end
  else
    -- New (stored above) or skipped.
    reply[r + 1] = (rec == nil) and 2 or 3
    for k = 2, 7 do reply[r + k] = 0 end
  end
end

if failed then
  -- Give back the new keys stored so far; the rest was not written.
  for j = 1, failed_at - 1 do
    local key, s = KEYS[j], 3 + 12 * (j - 1)
    if reply[7 * (j - 1) + 1] == 2 then
      local rec = parse(key, ARGV[s + 11])
      local window = tonumber(ARGV[s + 2])
      -- A new key's attempt set a lock when its limit is 1.
      local undo = ARGV[s + 7] == '1' and tonumber(ARGV[s + 1]) <= 1
      if give_back(rec, NOW, window, s, NOW_S, undo) then
        redis.call('DEL', key)
      else
        store(key, rec, NOW, NOW_S, window, s)
      end
    end
  end
  return redis.error_reply(failed)
end

if locked then
  -- The attempt is refused: the keys that give it back do.
  for i = 1, #KEYS do
    local key, s, r = KEYS[i], 3 + 12 * (i - 1), 7 * (i - 1)
    local code = reply[r + 1]
    if (code == 2 or (code == 1 and reply[r + 7] == 1))
        and (ARGV[s + 10] == '1' or ARGV[s + 6] ~= '1') then
      local rec = held[key]
      if rec == nil then
        -- A new key: the record stored is the caller's.
        rec = parse(key, ARGV[s + 11])
        held[key] = rec
      end
      if not rec.gone then
        local undo
        if code == 2 then
          -- A new key's attempt set a lock when its limit is 1.
          undo = ARGV[s + 7] == '1' and tonumber(ARGV[s + 1]) <= 1
        else
          undo = reply[r + 4] == 1
        end
        local window = tonumber(ARGV[s + 2])
        rec.gone = give_back(rec, NOW, window, s, NOW_S, undo)
        rec.s, rec.win = s, window
      end
    end
  end
end

for i = 1, #KEYS do
  local key = KEYS[i]
  local rec = held[key]
  if rec and not rec.done then
    rec.done = true
    if rec.gone then
      redis.call('DEL', key)
    else
      store(key, rec, NOW, NOW_S, rec.win, rec.s)
    end
  end
end
return reply
