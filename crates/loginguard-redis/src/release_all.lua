-- record::release on each of KEYS, in order. Per key: ARGV[s+10] reset
-- (0/1), ARGV[s+11] the attempt's begin time, ARGV[s+12] undo_lock (0/1),
-- and ARGV[s+9] its tag. Every key is settled; a key that holds something
-- other than a record is left as it is, and the reply is then an error
-- naming the first such key. Otherwise returns how many keys held a
-- record.
local found, err = 0, nil
for i = 1, #KEYS do
  local key, s = KEYS[i], 3 + 12 * (i - 1)
  if ARGV[s + 10] == '1' then
    found = found + redis.call('DEL', key)
  else
    local raw = redis.pcall('GET', key)
    if type(raw) == 'table' then
      err = err or raw.err
    elseif raw then
      local rec = parse(key, raw)
      if rec == nil then
        err = err or 'loginguard: unknown record format in ' .. key
      else
        found = found + 1
        local window = tonumber(ARGV[s + 2])
        if give_back(rec, NOW, window, s, ARGV[s + 11], ARGV[s + 12] == '1') then
          redis.call('DEL', key)
        else
          store(key, rec, NOW, NOW_S, window, s)
        end
      end
    end
  end
end
if err then return redis.error_reply(err) end
return found
