-- beat.lua: PresenceRegistry::beat(), atomically, for every signal (presence_store.hpp's Signal).
-- ARGV 6 signal (beat|start|fail|exit|pause|hold|alive|release), 7 id, 8 interval (s; '': the
-- client keeps its own), 9 grace (s; '': the client keeps its own; the caller sends
-- default_grace(interval) when only an interval was given), 10 a new id's interval (s), 11 a new
-- id's grace (s), 12 health ('': not given, ok, fail), 13 exit status ('' or 0..255), 14 rid
-- (hold, alive and release: the holder token instead, see common.lua's same_holder),
-- 15 message, 16 remote_addr, 17 log given (1 or 0), 18 log, 19 max clients, 20 rate emission
-- (us; 0: no limit), 21 rate tolerance (us), 22 hold refresh (us), 23 hold grace (us).
-- The caller validated everything.
-- Returns {outcome, status, record or false, previous state or '', produced events,
-- the duration (us) of the run this call ended or ''}.
credit_outage()
local signal, id = ARGV[6], ARGV[7]
local given_interval, given_grace = tonumber(ARGV[8]), tonumber(ARGV[9])  -- nil when ''
local max_clients, emission, tolerance = tonumber(ARGV[19]), tonumber(ARGV[20]), tonumber(ARGV[21])
local hold_refresh, hold_grace = tonumber(ARGV[22]), tonumber(ARGV[23])

local text = redis.call('HGET', K_CLIENTS, id)
local c
if text then
  c = decode(text)
else
  -- Pause, alive and release speak of a client the store holds: nothing is created for them.
  if signal == 'pause' or signal == 'alive' or signal == 'release' then
    return {'not_found', status(), false, '', produced, ''}
  end
  if redis.call('HLEN', K_CLIENTS) >= max_clients then
    redis.call('HINCRBY', K_STATS, 'rejected_full_total', 1)
    return {'full', status(), false, '', produced, ''}
  end
  c = {id = id, beats = 0, rate_limit_at = now, health = 'ok', interval = tonumber(ARGV[10]),
       grace = tonumber(ARGV[11]), message = '', runs = {}, log_bytes = 0}
end
local previous = c.state  -- nil for a new id

-- The holding server's refresh: deadlines only, and only for a client still held. Not a beat, so
-- neither counted nor rate-limited; the version moves only when the state does (a late held
-- client is up again), so refreshing thousands of held clients leaves listings' ETags alone.
-- Another server's refresh, while the client is held, comes from a connection of this client that
-- is dead but not yet seen to drop (it reconnected to the holder): taking the hold over would let
-- that connection's release make the client late, so it is ignored. Once nobody holds the client,
-- a server whose connection is still there takes the hold over (`held` is shown: a new version).
local token = ARGV[14]
if signal == 'alive' then
  local takes_over = false
  if same_holder(c, token) then
    if not c.held then return {'updated', status(), encode(c), previous, produced, ''} end
  elseif c.held then
    return {'updated', status(), encode(c), previous, produced, ''}
  else
    c.held = true
    c.holder = token
    takes_over = true
  end
  c.next_due = now + hold_refresh
  c.down_at = c.next_due + hold_grace
  c.state = state_at(now, c)
  local record = encode(c)
  redis.call('HSET', K_CLIENTS, id, record)
  schedule(c)
  if announce(c, previous, record) or takes_over then bump_version() end
  return {'updated', status(), record, previous, produced, ''}
end

-- The hold connection dropped: late at once (unless paused), down after the hold grace. Not
-- rate-limited: the server sends it, once per connection. A client no longer held (released
-- already, or never held) is left alone: a late release must not make a polling client late.
-- Nor does another server's release count: it is for a connection of this client that it held
-- before the client reconnected to the holder.
if signal == 'release' then
  if not c.held or not same_holder(c, token) then
    return {'updated', status(), encode(c), previous, produced, ''}
  end
  c.held = false
  if not c.paused then
    c.next_due = now
    c.down_at = now + hold_grace
  end
  c.state = state_at(now, c)
  local record = encode(c)
  redis.call('HSET', K_CLIENTS, id, record)
  schedule(c)
  announce(c, previous, record)
  bump_version()  -- `held` is shown in listings
  return {'updated', status(), record, previous, produced, ''}
end

-- GCRA: conforming unless more than `tolerance` ahead of its theoretical time.
if emission > 0 then
  local theoretical = math.max(c.rate_limit_at, now)
  if theoretical - now > tolerance then
    redis.call('HINCRBY', K_STATS, 'rate_limited_total', 1)
    return {'rate_limited', status(), false, '', produced, ''}
  end
  c.rate_limit_at = theoretical + emission
end

if signal == 'pause' then
  c.paused = true
  c.state = 'paused'
  local record = encode(c)
  redis.call('HSET', K_CLIENTS, id, record)  -- the rate limit moved, at least
  schedule(c)
  if announce(c, previous, record) then bump_version() end
  return {'updated', status(), record, previous, produced, ''}
end

-- Every other signal is a beat.
local health, rid, message = ARGV[12], ARGV[14], ARGV[15]
local exit_code = tonumber(ARGV[13])
local ends_run = false
if signal == 'beat' then
  if health ~= '' then
    c.health = health
    ends_run = true
  elseif #c.runs == 0 then
    c.health = 'ok'
  end
  -- status= not given while a run is open: "still alive", the run and the health go on.
elseif signal == 'fail' then
  c.health = 'fail'
  ends_run = true
elseif signal == 'exit' then
  if exit_code == 0 then c.health = 'ok' else c.health = 'fail' end
  c.exit_code = exit_code
  if exit_code ~= 0 and message == '' then message = 'exit ' .. int(exit_code) end
  ends_run = true
elseif signal == 'start' then
  -- A start with an rid already open restarts that run; beyond the maximum the oldest goes.
  for i, run in ipairs(c.runs) do
    if run.rid == rid then
      table.remove(c.runs, i)
      break
    end
  end
  c.runs[#c.runs + 1] = {rid = rid, started = now}
  while #c.runs > MAX_OPEN_RUNS do table.remove(c.runs, 1) end
end
-- 'hold': the health stays.

local run_duration = ''
if ends_run then
  -- The run named by rid=, or without one the oldest; an rid that matches none ends nothing.
  local ended = nil
  if rid ~= '' then
    for i, run in ipairs(c.runs) do
      if run.rid == rid then
        ended = i
        break
      end
    end
  elseif #c.runs > 0 then
    ended = 1
  end
  if ended then
    local run = table.remove(c.runs, ended)
    -- Replicas' clocks differ by a little: a run ended elsewhere just after its start is 0 long.
    local duration = math.max(0, now - run.started)
    c.last_duration = duration
    run_duration = int(duration)
    local status_text = '-'
    if signal == 'exit' then status_text = int(exit_code) end
    remember(id, 'r ' .. int(now) .. ' ' .. c.health .. ' ' .. status_text .. ' ' .. int(duration))
  end
end

if given_interval ~= nil then c.interval = given_interval end
if given_grace ~= nil then c.grace = given_grace end
-- A hold keeps the message unless the request brings one.
if signal ~= 'hold' or message ~= '' then c.message = message end
c.remote_addr = ARGV[16]
c.beats = c.beats + 1
c.last_beat = now
if c.health == 'ok' then c.last_ok = now end
c.paused = false
if signal == 'hold' then
  -- The holding server keeps it fresh (alive); the client's own interval and grace stay for later.
  c.held = true
  if token ~= '' then c.holder = token else c.holder = nil end
  c.next_due = now + hold_refresh
  c.down_at = c.next_due + hold_grace
elseif c.held then
  -- The hold vouches for it until its own deadlines: a beat with a short interval must not make a
  -- held client late (or down) sooner than the hold would.
  c.next_due = math.max(now + c.interval * 1000000, c.next_due)
  c.down_at = math.max(now + (c.interval + c.grace) * 1000000, c.down_at)
else
  c.next_due = now + c.interval * 1000000
  c.down_at = c.next_due + c.grace * 1000000
end
if ARGV[17] == '1' then
  local log = ARGV[18]
  if #log > 0 then
    redis.call('HSET', K_LOGS, id, log)
  else
    redis.call('HDEL', K_LOGS, id)
  end
  c.log_bytes = #log
end
c.state = state_at(now, c)
local record = encode(c)
redis.call('HSET', K_CLIENTS, id, record)
schedule(c)
announce(c, previous, record)
local version = bump_version()
redis.call('HINCRBY', K_STATS, 'beats_total', 1)
-- take_beaten() reads this in version order: exact across replicas, whatever their clocks.
redis.call('ZADD', K_BEATEN, int(version), id)

local outcome = 'updated'
if previous == nil then outcome = 'created' end
return {outcome, status(), record, previous or '', produced, run_duration}
