-- record::begin for KEYS[1]. Returns {allowed, failures, remaining,
-- locks_on_failure, has_until, until, counted}, or {2} when the key was
-- new.
--
-- ARGV[10], ARGV[11]: the record of a key seen for the first time and its
-- TTL, computed by the caller with the same rules (a new key's record does
-- not depend on anything stored). ARGV[12] = '1': the server has
-- `SET … NX GET` (Redis 7.0+), so a new key costs one command.
local key = KEYS[1]
local raw
if ARGV[12] == '1' then
  raw = redis.call('SET', key, ARGV[10], 'NX', 'GET', 'PX', ARGV[11])
  if not raw then return { 2 } end
else
  raw = redis.call('GET', key)
  if not raw then
    redis.call('SET', key, ARGV[10], 'PX', ARGV[11])
    return { 2 }
  end
end
local rec = parse(key, raw)
prune(rec, NOW, WINDOW)
rec.updated_s = NOW_S
local remembered = REMEMBER > 0 and remembers(rec, TAG)
if rec.locked and (rec.until_ == nil or rec.until_ > NOW) then
  -- The lock is in force: the attempt is refused.
  count_refusal(rec)
  if COUNT_DURING_LOCKOUT and not remembered then
    push_failure(rec, NOW_S, CAP)
    if rec.until_ ~= nil then
      local nth = tonumber(rec.count_s)
      if nth < 1 then nth = 1 end
      lock_for(rec, NOW, nth)
    end
  end
  store(key, rec, NOW, NOW_S, WINDOW)
  if rec.until_ == nil then return { 0, rec.n, 0, 0, 0, 0, 0 } end
  return { 0, rec.n, 0, 0, 1, rec.until_, 0 }
end
if rec.locked then
  -- The cool-off has ended: the key starts afresh.
  rec.locked = false
  rec.until_, rec.until_s = nil, ''
  rec.fails, rec.n = '', 0
  rec.tags, rec.refused_s = '', '0'
elseif remembered then
  -- The same tag again (a repeated wrong password): counts nothing.
  store(key, rec, NOW, NOW_S, WINDOW)
  local left = LIMIT - rec.n
  if left < 0 then left = 0 end
  return { 1, rec.n, left, 0, 0, 0, 0 }
end
push_failure(rec, NOW_S, CAP)
push_tag(rec, NOW_S, TAG, REMEMBER)
local n = rec.n
local remaining = LIMIT - n
if remaining < 0 then remaining = 0 end
if LOCK_OUT and n >= LIMIT then
  -- This attempt sets the lock.
  rec.locked = true
  rec.refused_s = '0'
  local lock_count = tonumber(rec.count_s)
  if lock_count < 4294967295 then -- u32::MAX
    lock_count = lock_count + 1
    rec.count_s = fmt(lock_count)
  end
  lock_for(rec, NOW, lock_count)
  store(key, rec, NOW, NOW_S, WINDOW)
  if rec.until_ == nil then return { 1, n, remaining, 1, 0, 0, 1 } end
  return { 1, n, remaining, 1, 1, rec.until_, 1 }
end
store(key, rec, NOW, NOW_S, WINDOW)
return { 1, n, remaining, 0, 0, 0, 1 }
