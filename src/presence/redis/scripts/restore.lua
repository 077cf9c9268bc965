-- restore.lua: PresenceRegistry::restore() for the records in ARGV 7.. (validated by the
-- caller; rate_limit_at absent). ARGV 6 max clients. Ids already present and those beyond the
-- maximum are skipped. Returns {restored, status}.
credit_outage()
local max_clients = tonumber(ARGV[6])
local restored = 0
for i = 7, #ARGV do
  local c = decode(ARGV[i])
  if redis.call('HEXISTS', K_CLIENTS, c.id) == 0 and redis.call('HLEN', K_CLIENTS) < max_clients then
    -- The memory store's rule: paused (the flag, or the state alone) stays paused until its next
    -- beat, which sets fresh deadlines anyway, so the saved ones are kept.
    if c.paused or c.state == 'paused' then
      c.paused = true
      c.state = 'paused'
    elseif c.state == 'down' then
      -- Stays down; its retention keeps counting from when it went down (never in the future).
      c.down_at = math.min(c.down_at, now)
      c.next_due = math.min(c.next_due, c.down_at)
    else
      -- The server was away, not the client: a fresh interval plus grace before any alarm.
      c.next_due = now + c.interval * 1000000
      c.down_at = c.next_due + c.grace * 1000000
      c.state = state_at(now, c)
    end
    c.rate_limit_at = now
    -- No connection survives a restart, and logs are not restored (nor their size).
    c.held = false
    c.holder = nil
    c.log_bytes = 0
    redis.call('HSET', K_CLIENTS, c.id, encode(c))
    schedule(c)
    count(c.state, 1)
    bump_version()
    restored = restored + 1
  end
end
return {restored, status()}
