-- sweep.lua: PresenceRegistry::tick() for up to ARGV 6 online clients whose deadline has come
-- and up to as many down clients whose retention is over.
-- Compare-and-set by construction: the script is atomic and reads each record's state before
-- it writes, and a client handled here is rescheduled past `now`, so however many replicas
-- sweep at once, each transition happens (and is announced) once.
-- Returns {clients handled, status, produced events}.
credit_outage()
local limit = tonumber(ARGV[6])

local function forget_if_expired(c)
  if c.state == 'down' and now - c.down_at >= retention then
    count('down', -1)
    bump_version()
    emit('leave', '', 'expired', encode(c))
    forget(c.id)
    return true
  end
  return false
end

local due = redis.call('ZRANGEBYSCORE', K_DEADLINES, '-inf', int(now - credit), 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  local text = redis.call('HGET', K_CLIENTS, id)
  if not text then
    redis.call('ZREM', K_DEADLINES, id)  -- cannot happen while every write goes through these scripts
  else
    local c = decode(text)
    local state = state_at(now, c)
    if SEVERITY[state] > SEVERITY[c.state] then
      local previous = c.state
      c.state = state
      bump_version()
      text = encode(c)
      redis.call('HSET', K_CLIENTS, id, text)
      announce(c, previous, text)
    end
    -- A paused client leaves `deadlines` here (it cannot be there while every write goes
    -- through these scripts).
    if not forget_if_expired(c) then schedule(c) end
  end
end

local expired = redis.call('ZRANGEBYSCORE', K_EXPIRIES, '-inf', int(now), 'LIMIT', 0, limit)
for _, id in ipairs(expired) do
  local text = redis.call('HGET', K_CLIENTS, id)
  if not text then
    redis.call('ZREM', K_EXPIRIES, id)
  else
    local c = decode(text)
    -- A replica with a longer retention scheduled it: leave it for then.
    if not forget_if_expired(c) then schedule(c) end
  end
end
return {#due + #expired, status(), produced}
