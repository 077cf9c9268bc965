-- wrk script for S7: "beat" posts /heartbeat/PREFIX<n>, n cycling over COUNT ids; "static" GETs
-- the URL's path. Both build every request in Lua, so wrk does the same work per request in
-- either mode and the server sees the same load shape: only the request differs.
-- Usage: wrk -s bench/heartbeat.lua URL -- beat|static [COUNT] [PREFIX]

local mode = "beat"
local count = 200000
local prefix = "bench-"
local next_id = 0

function init(args)
  if args[1] == "beat" or args[1] == "static" then
    mode = args[1]
  end
  local requested = tonumber(args[2])
  if requested ~= nil and requested >= 1 then
    count = math.floor(requested)
  end
  if args[3] ~= nil and args[3] ~= "" then
    prefix = args[3]
  end
end

function request()
  if mode == "static" then
    return wrk.format("GET", wrk.path)
  end
  local id = next_id
  next_id = (next_id + 1) % count
  -- An empty body still sends "Content-Length: 0", which a POST should carry.
  return wrk.format("POST", "/heartbeat/" .. prefix .. id, nil, "")
end
