-- Wrong passwords spread over 100000 usernames.
local counter = 0
request = function()
  counter = counter + 1
  local user = "user" .. ((counter * 7919) % 100000)
  return wrk.format("POST", nil,
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "username=" .. user .. "&password=wrong")
end
