-- The counting rules of loginguard_core::record, mirrored for Redis.
--
-- A record is one string value:
--   "1|locked|until|lock_count|updated_at|expires_at|f1,f2,..."
-- with times in milliseconds since the Unix epoch, "" for "none", and the
-- failure times oldest first. Every write sets the key's TTL: until the
-- record can no longer change a verdict, or the retention when that is never.
-- A TTL is never under MIN_TTL: a record outliving its use by a moment
-- changes no verdict, and app servers' clocks may differ a little.
-- Numbers are Lua doubles: every millisecond time up to 2^53 is exact.

local MAX_COOL_OFF = 3153600000000 -- record::MAX_COOL_OFF_MS (100 years)
local U32_MAX = 4294967295
local I32_MAX = 2147483647
local MIN_TTL = 1000

local function opt(s)
  if s == nil or s == '' then return nil end
  return tonumber(s)
end

local function fmt(n)
  if n == nil then return '' end
  return string.format('%.0f', n)
end

local function split(s, sep)
  local out, start = {}, 1
  while true do
    local i = string.find(s, sep, start, true)
    if not i then
      out[#out + 1] = string.sub(s, start)
      return out
    end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end

-- ARGV[1..9]: now, failure_limit, window, cool_off, multiplier, cool_off_max,
-- count_during_lockout, lock_out, retention (ms; "" = none).
local function limits(a)
  return {
    now = tonumber(a[1]),
    limit = tonumber(a[2]),
    window = opt(a[3]),
    cool_off = opt(a[4]),
    mult = tonumber(a[5]),
    max = opt(a[6]),
    count_during_lockout = a[7] == '1',
    lock_out = a[8] == '1',
    retention = tonumber(a[9]),
  }
end

-- f64::powi as compiled (compiler-rt __powidf2): square-and-multiply.
local function powi(a, b)
  local r = 1.0
  while true do
    if b % 2 == 1 then r = r * a end
    b = math.floor(b / 2)
    if b == 0 then break end
    a = a * a
  end
  return r
end

-- Limits::cool_off_ms
local function cool_off_ms(L, nth)
  if L.cool_off == nil then return nil end
  local e = nth - 1
  if e < 0 then e = 0 end
  if e > I32_MAX then e = I32_MAX end
  local x = L.cool_off * powi(L.mult, e)
  if x ~= x or x > MAX_COOL_OFF then x = MAX_COOL_OFF end
  local ms = math.floor(x)
  if L.max ~= nil and L.max < ms then ms = L.max end
  if ms < 0 then ms = 0 end
  if ms > MAX_COOL_OFF then ms = MAX_COOL_OFF end
  return ms
end

local function load(key)
  local raw = redis.call('GET', key)
  local r = { failures = {}, locked = false, until_ = nil, count = 0, updated = 0 }
  if not raw then return r, false end
  local p = split(raw, '|')
  if p[1] ~= '1' or #p ~= 7 then
    return redis.error_reply('loginguard: unknown record format in ' .. key)
  end
  r.locked = p[2] == '1'
  r.until_ = opt(p[3])
  r.count = tonumber(p[4])
  r.updated = tonumber(p[5])
  if p[7] ~= '' then
    for _, t in ipairs(split(p[7], ',')) do r.failures[#r.failures + 1] = tonumber(t) end
  end
  return r, true
end

-- KeyRecord::expires_at
local function expires_at(r, L)
  local e = r.updated
  if r.locked then
    if r.until_ == nil then return nil end
    if r.until_ > e then e = r.until_ end
  end
  if #r.failures > 0 and not r.locked then
    if L.window == nil then return nil end
    local w = r.failures[#r.failures] + L.window
    if w > e then e = w end
  end
  if r.count > 0 and L.mult > 1.0 then
    local longest = cool_off_ms(L, U32_MAX) or 0
    if r.updated + longest > e then e = r.updated + longest end
  end
  return e
end

local function is_empty(r)
  return #r.failures == 0 and not r.locked and r.count == 0
end

local function store(key, r, L)
  local e = expires_at(r, L)
  local ttl
  if e == nil then
    ttl = L.retention
  else
    ttl = e - L.now
    if ttl < MIN_TTL then ttl = MIN_TTL end
  end
  local fs = {}
  for i, t in ipairs(r.failures) do fs[i] = fmt(t) end
  local value = table.concat({ '1', r.locked and '1' or '0', fmt(r.until_), fmt(r.count),
    fmt(r.updated), fmt(e), table.concat(fs, ',') }, '|')
  redis.call('SET', key, value, 'PX', fmt(ttl))
end

-- KeyRecord::prune
local function prune(r, L)
  if L.window == nil then return end
  local floor = L.now - L.window
  local kept = {}
  for _, t in ipairs(r.failures) do
    if t > floor then kept[#kept + 1] = t end
  end
  r.failures = kept
end

-- KeyRecord::push_failure
local function push_failure(r, L)
  r.failures[#r.failures + 1] = L.now
  local cap = L.limit
  if cap < 1 then cap = 1 end
  local extra = #r.failures - cap
  if extra > 0 then
    local kept = {}
    for i = extra + 1, #r.failures do kept[#kept + 1] = r.failures[i] end
    r.failures = kept
  end
end

local function lock_active(r, now)
  return r.locked and (r.until_ == nil or r.until_ > now)
end
