-- remove.lua: PresenceRegistry::remove(). ARGV 5 id. Returns {1 or 0, status, produced events}.
credit_outage()
local id = ARGV[5]
local text = redis.call('HGET', K_CLIENTS, id)
if not text then return {0, status(), produced} end
local c = decode(text)
count(c.state, -1)
bump_version()
emit('leave', '', 'signed_off', text)
forget(id)
return {1, status(), produced}
