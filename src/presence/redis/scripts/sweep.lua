-- sweep.lua: PresenceRegistry::tick() for up to ARGV 5 clients whose deadline has come.
-- Compare-and-set by construction: the script is atomic and reads each record's state before
-- it writes, and a client handled here is rescheduled past `now`, so however many replicas
-- sweep at once, each transition happens (and is announced) once.
-- Returns {clients handled, status, produced events}.
credit_outage()
local due = redis.call('ZRANGEBYSCORE', K_DEADLINES, '-inf', int(now), 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(due) do
  local text = redis.call('HGET', K_CLIENTS, id)
  if not text then
    redis.call('ZREM', K_DEADLINES, id)  -- cannot happen while every write goes through these scripts
  else
    local c = decode(text)
    local state = state_at(now, c)
    if SEVERITY[state] > SEVERITY[c.state] then
      local previous = c.state
      count(previous, -1)
      count(state, 1)
      c.state = state
      redis.call('HINCRBY', K_STATS, 'transitions_total', 1)
      bump_version()
      text = encode(c)
      redis.call('HSET', K_CLIENTS, id, text)
      emit('change', previous, 'signed_off', text)
    end
    if c.state == 'down' and now - c.down_at >= retention then
      count('down', -1)
      bump_version()
      emit('leave', '', 'expired', text)
      forget(id)
    else
      schedule(c)
    end
  end
end
return {#due, status(), produced}
