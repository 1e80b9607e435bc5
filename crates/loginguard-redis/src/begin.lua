-- record::begin for KEYS[1]. Returns {allowed, failures, remaining,
-- locks_on_failure, has_until, until}.
local L = limits(ARGV)
local key = KEYS[1]
local r = load(key)
if r.err then return r end
local now = L.now
prune(r, L)
r.updated = now
if lock_active(r, now) then
  if L.count_during_lockout then
    push_failure(r, L)
    if r.until_ ~= nil then
      local nth = r.count
      if nth < 1 then nth = 1 end
      local ms = cool_off_ms(L, nth)
      if ms == nil then r.until_ = nil else r.until_ = now + ms end
    end
  end
  store(key, r, L)
  local has = r.until_ ~= nil
  return { 0, #r.failures, 0, 0, has and 1 or 0, has and r.until_ or 0 }
end
if r.locked then
  -- The cool-off has ended: the key starts afresh.
  r.locked = false
  r.until_ = nil
  r.failures = {}
end
push_failure(r, L)
local failures = #r.failures
local locks = L.lock_out and failures >= L.limit
if locks then
  r.locked = true
  if r.count < U32_MAX then r.count = r.count + 1 end
  local ms = cool_off_ms(L, r.count)
  if ms == nil then r.until_ = nil else r.until_ = now + ms end
end
store(key, r, L)
local remaining = L.limit - failures
if remaining < 0 then remaining = 0 end
local has = locks and r.until_ ~= nil
return { 1, failures, remaining, locks and 1 or 0, has and 1 or 0, has and r.until_ or 0 }
