-- beat.lua: PresenceRegistry::beat(), atomically. ARGV 5 id, 6 interval (s), 7 grace (s),
-- 8 health (ok|fail), 9 message, 10 remote_addr, 11 max clients, 12 rate emission (us; 0: no
-- limit), 13 rate tolerance (us). The caller validated everything.
-- Returns {outcome, status, record or false, previous state or '', produced events}.
credit_outage()
local id = ARGV[5]
local interval, grace = tonumber(ARGV[6]), tonumber(ARGV[7])
local max_clients, emission, tolerance = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])

local text = redis.call('HGET', K_CLIENTS, id)
local c
if text then
  c = decode(text)
else
  if redis.call('HLEN', K_CLIENTS) >= max_clients then
    redis.call('HINCRBY', K_STATS, 'rejected_full_total', 1)
    return {'full', status(), false, '', produced}
  end
  c = {id = id, beats = 0, rate_limit_at = now}
end

-- GCRA: conforming unless more than `tolerance` ahead of its theoretical time.
if emission > 0 then
  local theoretical = math.max(c.rate_limit_at, now)
  if theoretical - now > tolerance then
    redis.call('HINCRBY', K_STATS, 'rate_limited_total', 1)
    return {'rate_limited', status(), false, '', produced}
  end
  c.rate_limit_at = theoretical + emission
end

local previous = c.state
c.health = ARGV[8]
c.interval = interval
c.grace = grace
c.message = ARGV[9]
c.remote_addr = ARGV[10]
c.beats = c.beats + 1
c.last_beat = now
if c.health == 'ok' then c.last_ok = now end
c.next_due = now + interval * 1000000
c.down_at = c.next_due + grace * 1000000
c.state = state_at(now, c)
local record = encode(c)
redis.call('HSET', K_CLIENTS, id, record)
schedule(c)

if previous == nil then
  count(c.state, 1)
  emit('join', '', 'signed_off', record)
elseif previous ~= c.state then
  count(previous, -1)
  count(c.state, 1)
  redis.call('HINCRBY', K_STATS, 'transitions_total', 1)
  emit('change', previous, 'signed_off', record)
end
local version = bump_version()
redis.call('HINCRBY', K_STATS, 'beats_total', 1)
-- take_beaten() reads this in version order: exact across replicas, whatever their clocks.
redis.call('ZADD', K_BEATEN, int(version), id)

local outcome = 'updated'
if previous == nil then outcome = 'created' end
return {outcome, status(), record, previous or '', produced}
