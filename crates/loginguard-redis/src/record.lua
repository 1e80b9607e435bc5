-- The counting rules of loginguard_core::record, mirrored for Redis.
--
-- A record is one string value:
--   "1|locked|until|lock_count|updated_at|expires_at|f1,f2,..."
-- with times in milliseconds since the Unix epoch ("" for none) and the
-- failure times oldest first. Every write sets the key's TTL: until the
-- record can no longer change a verdict (at least MIN_TTL: a record that
-- outlives its use by a moment changes no verdict, and app servers' clocks
-- may differ a little), or the retention when that is never.
--
-- Numbers are Lua doubles: every millisecond time up to 2^53 is exact.
-- Times arrive as decimal strings and are stored as received, so failure
-- times compare as strings; tables and number formatting are kept to a
-- minimum because they dominate the cost of a call.
--
-- ARGV[1..9]: now, failure_limit, window, cool_off, multiplier,
-- cool_off_max, count_during_lockout (0/1), lock_out (0/1), retention
-- (all ms; "" = none).

local MAX_COOL_OFF = 3153600000000 -- record::MAX_COOL_OFF_MS (100 years)
local U32_MAX = 4294967295
local I32_MAX = 2147483647
local MIN_TTL = 1000

local NOW_S = ARGV[1]
local NOW = tonumber(NOW_S)
local LIMIT = tonumber(ARGV[2])
local WINDOW = tonumber(ARGV[3])
-- The cool-off settings are read when a lock needs them (most attempts
-- set none).
local COOL_OFF, MULT, MAX
local function progression()
  if MULT == nil then
    COOL_OFF = tonumber(ARGV[4])
    MULT = tonumber(ARGV[5])
    MAX = tonumber(ARGV[6])
  end
end
local COUNT_DURING_LOCKOUT = ARGV[7] == '1'
local LOCK_OUT = ARGV[8] == '1'
local RETENTION_S = ARGV[9]
local CAP = LIMIT
if CAP < 1 then CAP = 1 end

-- The record being worked on (KeyRecord).
local failures = {}   -- failure times as decimal strings, oldest first
local locked = false
local until_ = nil     -- number, or nil
local until_s = ''     -- until_ as stored
local lock_count = 0
local updated_s = '0'

local function fmt(n)
  return string.format('%.0f', n)
end

local function set_until(n)
  until_ = n
  if n == nil then until_s = '' else until_s = fmt(n) end
end

-- Takes in a stored record (the value of `key`).
local function parse(key, raw)
  local v, l, u, c, t, _, fs = string.match(raw,
    '^(%d+)|([01])|(%-?%d*)|(%d+)|(%-?%d+)|(%-?%d*)|([%-%d,]*)$')
  if v ~= '1' then
    return error('loginguard: unknown record format in ' .. key)
  end
  locked = l == '1'
  until_s = u
  until_ = tonumber(u)
  lock_count = tonumber(c)
  updated_s = t
  for f in string.gmatch(fs, '[^,]+') do failures[#failures + 1] = f end
end

-- Reads the record of `key`; false when there is none.
local function load(key)
  local raw = redis.call('GET', key)
  if not raw then return false end
  parse(key, raw)
  return true
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
local function cool_off_ms(nth)
  progression()
  if COOL_OFF == nil then return nil end
  local e = nth - 1
  if e < 0 then e = 0 end
  if e > I32_MAX then e = I32_MAX end
  local x = COOL_OFF * powi(MULT, e)
  if x ~= x or x > MAX_COOL_OFF then x = MAX_COOL_OFF end
  local ms = math.floor(x)
  if MAX ~= nil and MAX < ms then ms = MAX end
  if ms < 0 then ms = 0 end
  if ms > MAX_COOL_OFF then ms = MAX_COOL_OFF end
  return ms
end

-- KeyRecord::prune: drops failures outside the window, in place.
local function prune()
  if WINDOW == nil or #failures == 0 then return end
  local floor = NOW - WINDOW
  local n = 0
  for i = 1, #failures do
    local f = failures[i]
    if tonumber(f) > floor then
      n = n + 1
      failures[n] = f
    end
  end
  for i = #failures, n + 1, -1 do failures[i] = nil end
end

-- KeyRecord::push_failure: appends `now`, keeping at most CAP.
local function push_failure()
  failures[#failures + 1] = NOW_S
  local extra = #failures - CAP
  if extra > 0 then
    local n = #failures
    for i = 1, n - extra do failures[i] = failures[i + extra] end
    for i = n, n - extra + 1, -1 do failures[i] = nil end
  end
end

local function lock_active()
  return locked and (until_ == nil or until_ > NOW)
end

local function is_empty()
  return #failures == 0 and not locked and lock_count == 0
end

-- KeyRecord::expires_at; nil: never by itself.
local function expires_at()
  local updated = NOW
  if updated_s ~= NOW_S then updated = tonumber(updated_s) end
  local e = updated
  if locked then
    if until_ == nil then return nil end
    if until_ > e then e = until_ end
  end
  if #failures > 0 and not locked then
    if WINDOW == nil then return nil end
    local w = tonumber(failures[#failures]) + WINDOW
    if w > e then e = w end
  end
  if lock_count > 0 then progression() end
  if lock_count > 0 and MULT > 1.0 then
    local longest = cool_off_ms(U32_MAX) or 0
    if updated + longest > e then e = updated + longest end
  end
  return e
end

-- Writes the record with its TTL.
local function store(key)
  local e = expires_at()
  local e_s, ttl_s
  if e == nil then
    e_s = ''
    ttl_s = RETENTION_S
  else
    e_s = fmt(e)
    local ttl = e - NOW
    if ttl < MIN_TTL then ttl = MIN_TTL end
    ttl_s = fmt(ttl)
  end
  redis.call('SET', key,
    '1|' .. (locked and '1|' or '0|') .. until_s .. '|' .. lock_count .. '|' .. updated_s
      .. '|' .. e_s .. '|' .. table.concat(failures, ','),
    'PX', ttl_s)
end
