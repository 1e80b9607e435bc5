-- record::begin for KEYS[1]. Returns {allowed, failures, remaining,
-- locks_on_failure, has_until, until}.
local key = KEYS[1]
load(key)
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
