-- remove.lua: PresenceRegistry::remove(): the record, its log and its history go. ARGV 6 id. Returns {1 or 0, status, produced events}.
credit_outage()
local id = ARGV[6]
local text = redis.call('HGET', K_CLIENTS, id)
if not text then return {0, status(), produced} end
local c = decode(text)
count(c.state, -1)
bump_version()
emit('leave', '', 'signed_off', encode(c))
forget(id)
return {1, status(), produced}
