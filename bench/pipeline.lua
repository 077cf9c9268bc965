-- wrk script: sends DEPTH pipelined GET requests per write on each connection (default 16).
-- Usage: wrk -s bench/pipeline.lua URL -- [DEPTH]
-- wrk counts every response, so Requests/sec is responses per second, not batches.

local depth = 16
local batch

function init(args)
  local requested = tonumber(args[1])
  if requested ~= nil and requested >= 1 and requested <= 1024 then
    depth = math.floor(requested)
  end
  local requests = {}
  for i = 1, depth do
    requests[i] = wrk.format(nil, wrk.path)
  end
  batch = table.concat(requests)
end

function request()
  return batch
end
