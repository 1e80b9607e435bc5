-- The counting rules of loginguard_core::record, mirrored for Redis.
--
-- A record is one string value:
--   "2|locked|until|lock_count|updated_at|expires_at|refused|tags|f1,f2,..."
-- with times in milliseconds since the Unix epoch ("" for none), the
-- failure times oldest first, and the tags as "time:tag,..." (the tag in
-- 16 hex digits), oldest first. Version 1 records (no refused, no tags)
-- are read as well and written back as version 2. Every write sets the key's TTL: until the
-- record can no longer change a verdict (at least a second, MIN_TTL_MS in
-- codec.rs: a record that outlives its use by a moment changes no verdict,
-- and app servers' clocks may differ a little), or the retention when that
-- is never.
--
-- Numbers are Lua doubles: every millisecond time up to 2^53 is exact.
-- Times arrive as decimal strings and are stored as received, so failure
-- times compare as strings.
--
-- Redis runs this whole chunk on every call, and its time goes mostly to
-- what the chunk allocates and converts: closures and the locals they
-- capture, tables, strings, and numbers parsed (strtod) or formatted
-- (sprintf). So the functions below are handed the record (one table) and
-- the settings they use instead of capturing locals, the failure list
-- stays one string with a count beside it, and a field keeps the string it
-- was stored as unless it changes.
--
-- ARGV[1]: now (ms); ARGV[2]: the retention (ms); ARGV[3]: step-wide
-- flag (see the entry point). Then twelve ARGV per key: the key's settings
-- start after index `s` = 3 + 12 * (i - 1) for KEYS[i], and the functions
-- below are handed `s` to read the ones they use (the keys of one attempt
-- have different limits: a password's spray key has its own):
--   s+1 failure_limit, s+2 window, s+3 cool_off, s+4 multiplier,
--   s+5 cool_off_max (ms; "" = none), s+6 count_during_lockout (0/1),
--   s+7 lock_out (0/1), s+8 how many tags a key remembers, s+9 the
--   attempt's tag (16 hex digits, "" = none), s+10..s+12 the entry
--   point's own.

local NOW_S = ARGV[1]
local NOW = tonumber(NOW_S)

-- Reads a stored record (the value of `key`) into a KeyRecord table whose
-- fields keep the strings they were stored as; nil when `raw` is not a
-- record (another program wrote under this prefix). expires_at is
-- recomputed on every write, so it is skipped; the failure list is taken
-- as written (by these scripts only).
local function parse(key, raw)
  local locked, until_s, count_s, updated_s, refused_s, tags, fails
  if string.byte(raw, 1) == 50 then -- '2'
    locked, until_s, count_s, updated_s, refused_s, tags, fails = string.match(raw,
      '^2|([01])|(%-?%d*)|(%d+)|(%-?%d+)|%-?%d*|(%d+)|([%-%d:%x,]*)|(.*)$')
  else
    locked, until_s, count_s, updated_s, fails = string.match(raw,
      '^1|([01])|(%-?%d*)|(%d+)|(%-?%d+)|%-?%d*|(.*)$')
    refused_s, tags = '0', ''
  end
  if not locked then return nil end
  return {
    refused_s = refused_s,      -- attempts refused since the lock
    tags = tags,                -- "t1:tag1,t2:tag2", '' for none
    locked = locked == '1',
    until_ = tonumber(until_s), -- nil: none
    until_s = until_s,          -- '' for none
    count_s = count_s,          -- lock_count
    updated_s = updated_s,
    fails = fails,              -- the failure times: "f1,f2,...", '' for none
    n = 0,                      -- how many (set by prune)
    last_s = nil,               -- the newest (set by prune when there is a
                                -- window, and by push_failure)
    -- begin_all.lua adds s and win (the settings it is stored with),
    -- gone (given back to nothing: deleted) and done (written).
  }
end

-- A whole number of ms as a decimal string: "%d" costs half of "%.0f" and
-- is exact below 2^53 (times up to the year 287,000).
local function fmt(x)
  if x < 9007199254740992 and x > -9007199254740992 then
    return string.format('%d', x)
  end
  return string.format('%.0f', x)
end

-- KeyRecord::prune: drops failures older than `window` (nil: none) before
-- `now`, and counts those left (rec.n). Usually none is dropped and
-- rec.fails stays as it is. A time of as many digits as a floor that is
-- not negative compares with it as a string, which spares parsing it.
local function prune(rec, now, window)
  local find, fails = string.find, rec.fails
  local len = #fails
  local n = 0
  if len == 0 then
    rec.n = 0
    rec.tags = '' -- tags go with the failures they were counted with
    return
  end
  if window ~= nil and rec.tags ~= '' then
    local floor, list = now - window, {}
    for t, tag in string.gmatch(rec.tags, '(%-?%d+):(%x+)') do
      if tonumber(t) > floor then list[#list + 1] = t .. ':' .. tag end
    end
    rec.tags = table.concat(list, ',')
  end
  if window == nil then
    local i = 0
    repeat
      n = n + 1
      i = find(fails, ',', i + 1, true)
    until not i
    rec.n = n
    return
  end
  local floor = now - window
  local floor_s, floor_len = nil, -1
  if floor >= 0 then
    floor_s = fmt(floor)
    floor_len = #floor_s
  end
  local i, t = 1, nil
  while i <= len do
    local j = find(fails, ',', i, true) or len + 1
    t = string.sub(fails, i, j - 1)
    local kept
    if j - i == floor_len then
      kept = t > floor_s -- (a '-' sorts before the digits)
    else
      kept = tonumber(t) > floor
    end
    if not kept then
      -- Some failure is outside the window: rebuild the list (the times
      -- need not be in order when app servers' clocks differ).
      local list = {}
      for f in string.gmatch(fails, '[^,]+') do
        if tonumber(f) > floor then list[#list + 1] = f end
      end
      rec.fails = table.concat(list, ',')
      rec.n = #list
      rec.last_s = list[#list]
      if rec.n == 0 then rec.tags = '' end
      return
    end
    n = n + 1
    i = j + 1
  end
  rec.n = n
  rec.last_s = t
end

-- KeyRecord::push_failure: appends `now_s`, keeping at most `cap` (the
-- oldest go).
local function push_failure(rec, now_s, cap)
  local n = rec.n
  local drop = n + 1 - cap
  rec.last_s = now_s
  if n == 0 or drop >= n then
    rec.fails, rec.n = now_s, 1
    return
  end
  local fails = rec.fails
  if drop > 0 then
    local p = 0
    for _ = 1, drop do p = string.find(fails, ',', p + 1, true) end
    fails = string.sub(fails, p + 1)
    n = n - drop
  end
  rec.fails, rec.n = fails .. ',' .. now_s, n + 1
end

-- Whether the record remembers `tag` (16 hex digits; '' never).
local function remembers(rec, tag)
  if tag == '' or rec.tags == '' then return false end
  return string.find(rec.tags .. ',', ':' .. tag .. ',', 1, true) ~= nil
end

-- KeyRecord::push_tag: appends `now_s:tag`, keeping at most `cap`.
local function push_tag(rec, now_s, tag, cap)
  if tag == '' or cap < 1 then return end
  local entry = now_s .. ':' .. tag
  if rec.tags == '' then
    rec.tags = entry
    return
  end
  local list = {}
  for e in string.gmatch(rec.tags, '[^,]+') do list[#list + 1] = e end
  list[#list + 1] = entry
  local first = #list - cap + 1
  if first < 1 then first = 1 end
  rec.tags = table.concat(list, ',', first, #list)
end

-- Adds one to the refusals since the lock (saturating at u32::MAX).
local function count_refusal(rec)
  local n = tonumber(rec.refused_s)
  if n < 4294967295 then rec.refused_s = fmt(n + 1) end
end

-- Limits::cool_off_ms, from the key's cool-off settings (ARGV[s+3..s+5]).
local function cool_off_ms(s, nth)
  local cool_off = tonumber(ARGV[s + 3])
  if cool_off == nil then return nil end
  local e = nth - 1
  if e < 0 then e = 0 end
  if e > 2147483647 then e = 2147483647 end -- i32::MAX
  -- f64::powi as compiled (compiler-rt __powidf2): square-and-multiply.
  local factor = 1.0
  local mult = ARGV[s + 4]
  if mult ~= '1' then
    local a = tonumber(mult)
    while e > 0 do
      if e % 2 == 1 then factor = factor * a end
      e = math.floor(e / 2)
      a = a * a
    end
  end
  local max_cool_off = 3153600000000 -- record::MAX_COOL_OFF_MS (100 years)
  local x = cool_off * factor
  if x ~= x or x > max_cool_off then x = max_cool_off end
  local ms = math.floor(x)
  local max = tonumber(ARGV[s + 5])
  if max ~= nil and max < ms then ms = max end
  if ms < 0 then ms = 0 end
  if ms > max_cool_off then ms = max_cool_off end
  return ms
end

-- Sets the lock's end to `now` plus the cool-off of the `nth` lock (none:
-- until reset), under the key's settings after `s`.
local function lock_for(rec, now, s, nth)
  local ms = cool_off_ms(s, nth)
  if ms == nil then
    rec.until_, rec.until_s = nil, ''
  else
    rec.until_ = now + ms
    rec.until_s = fmt(now + ms)
  end
end

-- Writes the record with its TTL: until KeyRecord::expires_at, or the
-- retention (ARGV[2]) when that is never (a lock until reset, or failures
-- and no window). An expiry equal to a stored time reuses its string.
local function store(key, rec, now, now_s, window, s)
  local updated_s = rec.updated_s
  local updated = now
  if updated_s ~= now_s then updated = tonumber(updated_s) end
  local e, e_s = updated, updated_s
  local never = false
  if rec.locked then
    local until_ = rec.until_
    if until_ == nil then
      never = true
    elseif until_ > e then
      e, e_s = until_, rec.until_s
    end
  elseif rec.n > 0 then
    if window == nil then
      never = true
    else
      local last = now
      if rec.last_s ~= now_s then last = tonumber(rec.last_s) end
      if last + window > e then e, e_s = last + window, nil end
    end
  end
  -- Progressive cool-offs (a multiplier above 1): kept until the longest
  -- could have passed since the last attempt.
  local mult = ARGV[s + 4]
  if not never and rec.count_s ~= '0' and mult ~= '1' and tonumber(mult) > 1.0 then
    local longest = updated + (cool_off_ms(s, 4294967295) or 0) -- u32::MAX
    if longest > e then e, e_s = longest, nil end
  end
  local ttl_s
  if never then
    e_s, ttl_s = '', ARGV[2]
  else
    e_s = e_s or fmt(e)
    local ttl = e - now
    if ttl < 1000 then ttl = 1000 end -- codec::MIN_TTL_MS
    ttl_s = fmt(ttl)
  end
  redis.call('SET', key,
    (rec.locked and '2|1|' or '2|0|') .. rec.until_s .. '|' .. rec.count_s .. '|'
      .. updated_s .. '|' .. e_s .. '|' .. rec.refused_s .. '|' .. rec.tags .. '|'
      .. rec.fails,
    'PX', ttl_s)
end

-- record::begin on `rec` under the key's settings after `s` (`window` is
-- ARGV[s+2] as a number), without writing it. Returns allowed,
-- remaining, locks_on_failure and counted; rec.n is the failure count and
-- rec.until_ the lock's end.
local function begin(rec, now, now_s, window, s)
  local limit = tonumber(ARGV[s + 1])
  local tag = ARGV[s + 9]
  local remember = tonumber(ARGV[s + 8]) or 0
  local cap = limit -- failures kept
  if cap < 1 then cap = 1 end
  prune(rec, now, window)
  rec.updated_s = now_s
  local remembered = remember > 0 and remembers(rec, tag)
  if rec.locked and (rec.until_ == nil or rec.until_ > now) then
    -- The lock is in force: the attempt is refused.
    count_refusal(rec)
    if ARGV[s + 6] == '1' and not remembered then
      push_failure(rec, now_s, cap)
      if rec.until_ ~= nil then
        local nth = tonumber(rec.count_s)
        if nth < 1 then nth = 1 end
        lock_for(rec, now, s, nth)
      end
    end
    return false, 0, false, false
  end
  if rec.locked then
    -- The cool-off has ended: the key starts afresh.
    rec.locked = false
    rec.until_, rec.until_s = nil, ''
    rec.fails, rec.n = '', 0
    rec.tags, rec.refused_s = '', '0'
  elseif remembered then
    -- The same tag again (a repeated wrong password): counts nothing.
    local left = limit - rec.n
    if left < 0 then left = 0 end
    return true, left, false, false
  end
  push_failure(rec, now_s, cap)
  push_tag(rec, now_s, tag, remember)
  local remaining = limit - rec.n
  if remaining < 0 then remaining = 0 end
  if ARGV[s + 7] == '1' and rec.n >= limit then
    -- This attempt sets the lock.
    rec.locked = true
    rec.refused_s = '0'
    local lock_count = tonumber(rec.count_s)
    if lock_count < 4294967295 then -- u32::MAX
      lock_count = lock_count + 1
      rec.count_s = fmt(lock_count)
    end
    lock_for(rec, now, s, lock_count)
    return true, remaining, true, true
  end
  return true, remaining, false, true
end
