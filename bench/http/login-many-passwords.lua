-- Wrong passwords over 100000 usernames, each request a new password
-- (so with the features beyond django-axes on, every attempt is counted
-- and hashed, and every password gets a spray key of its own).
local counter = 0
request = function()
  counter = counter + 1
  local user = "user" .. ((counter * 7919) % 100000)
  return wrk.format("POST", nil,
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "username=" .. user .. "&password=guess" .. counter)
end
