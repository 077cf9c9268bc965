-- list.lua: one consistent snapshot. ARGV 5 id prefix (may be empty). Reads only.
-- Returns {status, records of the clients whose id starts with the prefix}.
local prefix = ARGV[5]
local records = {}
if prefix == '' then
  records = redis.call('HVALS', K_CLIENTS)
else
  local all = redis.call('HGETALL', K_CLIENTS)
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, #prefix) == prefix then records[#records + 1] = all[i + 1] end
  end
end
return {status(), records}
