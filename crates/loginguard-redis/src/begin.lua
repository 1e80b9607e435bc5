-- record::begin for KEYS[1]. Returns {allowed, failures, remaining,
-- locks_on_failure, has_until, until}, or {2} when the key was new.
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
parse(key, raw)
prune()
updated_s = NOW_S
if lock_active() then
  if COUNT_DURING_LOCKOUT then
    push_failure()
    if until_ ~= nil then
      local nth = lock_count
      if nth < 1 then nth = 1 end
      local ms = cool_off_ms(nth)
      if ms == nil then set_until(nil) else set_until(NOW + ms) end
    end
  end
  store(key)
  local has = until_ ~= nil
  return { 0, #failures, 0, 0, has and 1 or 0, has and until_ or 0 }
end
if locked then
  -- The cool-off has ended: the key starts afresh.
  locked = false
  set_until(nil)
  failures = {}
end
push_failure()
local n = #failures
local locks = LOCK_OUT and n >= LIMIT
if locks then
  locked = true
  if lock_count < U32_MAX then lock_count = lock_count + 1 end
  local ms = cool_off_ms(lock_count)
  if ms == nil then set_until(nil) else set_until(NOW + ms) end
end
store(key)
local remaining = LIMIT - n
if remaining < 0 then remaining = 0 end
local has = locks and until_ ~= nil
return { 1, n, remaining, locks and 1 or 0, has and 1 or 0, has and until_ or 0 }
