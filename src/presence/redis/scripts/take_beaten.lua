-- take_beaten.lua: up to ARGV 7 clients that beat after version ARGV 6 (the caller's cursor).
-- Reads only. Returns {records as they are now, the version of the last one taken (or the cursor)}.
local cursor = ARGV[6]
local taken = redis.call('ZRANGEBYSCORE', K_BEATEN, '(' .. cursor, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[7]))
local records = {}
local last = cursor
for i = 1, #taken, 2 do
  local text = redis.call('HGET', K_CLIENTS, taken[i])
  if text then records[#records + 1] = encode(decode(text)) end
  last = taken[i + 1]
end
return {records, last}
