-- record::begin for KEYS[1], with the arguments and the answer of
-- begin_all.lua for one key (the same step without what only several keys
-- need).
local key, s = KEYS[1], 3
local raw
if ARGV[3] == '1' then
  raw = redis.call('SET', key, ARGV[s + 11], 'NX', 'GET', 'PX', ARGV[s + 12])
  if not raw then return { 2, 0, 0, 0, 0, 0, 0 } end
else
  raw = redis.call('GET', key)
  if not raw then
    redis.call('SET', key, ARGV[s + 11], 'PX', ARGV[s + 12])
    return { 2, 0, 0, 0, 0, 0, 0 }
  end
end
local rec = parse(key, raw)
if rec == nil then
  return redis.error_reply('loginguard: unknown record format in ' .. key)
end
local window = tonumber(ARGV[s + 2])
local allowed, remaining, locks, counted = begin(rec, NOW, NOW_S, window, s)
store(key, rec, NOW, NOW_S, window, s)
local a, l, c = allowed and 1 or 0, locks and 1 or 0, counted and 1 or 0
if (allowed and not locks) or rec.until_ == nil then
  return { a, rec.n, remaining, l, 0, 0, c }
end
return { a, rec.n, remaining, l, 1, rec.until_, c }
