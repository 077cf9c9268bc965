-- common.lua: prepended to every script. The keys, the record coding, the state rule, events,
-- the outage credit and the status every reply ends with.
--
-- KEYS (the same for every script): 1 clients (hash: id -> record), 2 deadlines (zset: id ->
-- the microsecond of its next time-driven transition), 3 beaten (zset: id -> the version of its
-- last beat), 4 events (stream), 5 stats (hash of counters), 6 version, 7 seq, 8 swept_at.
-- ARGV (the same first four for every script): 1 now (microseconds since the epoch, on the
-- caller's store clock), 2 outage threshold (microseconds; 0: no outage credit), 3 event history
-- (the stream's MAXLEN ~), 4 retention (microseconds). The script's own arguments follow.
local K_CLIENTS, K_DEADLINES, K_BEATEN, K_EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_STATS, K_VERSION, K_SEQ, K_SWEPT = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now = tonumber(ARGV[1])
local outage_threshold = tonumber(ARGV[2])
local history = tonumber(ARGV[3])
local retention = tonumber(ARGV[4])

-- Lua numbers are doubles: exact for integers below 2^53 (microseconds until the year 2255),
-- but tostring() and cjson keep only 14 digits. Every number that leaves a script goes through this.
local function int(n)
  return string.format('%d', n)
end

-- Times and the beat count are strings in a record (see record_codec.hpp).
local NUMBER_FIELDS = {'beats', 'last_beat', 'last_ok', 'next_due', 'down_at', 'rate_limit_at'}

local function decode(text)
  local c = cjson.decode(text)
  for _, f in ipairs(NUMBER_FIELDS) do
    if c[f] ~= nil then c[f] = tonumber(c[f]) end
  end
  return c
end

local function encode(c)
  local out = {}
  for k, v in pairs(c) do out[k] = v end
  for _, f in ipairs(NUMBER_FIELDS) do
    if c[f] ~= nil then out[f] = int(c[f]) end
  end
  return cjson.encode(out)
end

-- client_state.hpp's state_at(), the one rule.
local function state_at(t, c)
  if t < c.next_due then
    if c.health == 'fail' then return 'failing' end
    return 'up'
  end
  if t < c.down_at then return 'late' end
  return 'down'
end

-- Time only makes a client worse: up or failing, then late, then down.
local SEVERITY = {up = 0, failing = 0, late = 1, down = 2}

-- When time alone next changes this client: late, down, or forgotten.
local function deadline_of(c)
  if c.state == 'down' then return c.down_at + retention end
  if c.state == 'late' then return c.down_at end
  return c.next_due
end

local function schedule(c)
  redis.call('ZADD', K_DEADLINES, int(deadline_of(c)), c.id)
end

local function count(state, delta)
  redis.call('HINCRBY', K_STATS, state, delta)
end

local function forget(id)
  redis.call('HDEL', K_CLIENTS, id)
  redis.call('ZREM', K_DEADLINES, id)
  redis.call('ZREM', K_BEATEN, id)
end

-- The events this script appended, returned to the caller in stream-entry form.
local produced = {}

local function next_sequence()
  if redis.call('EXISTS', K_SEQ) == 0 then
    -- A Redis that lost its data starts numbering at the clock in microseconds (like the memory
    -- store), after the stream's last entry if one survived: no number is ever issued twice, so an
    -- old Last-Event-ID is never mistaken for a new one.
    local start = now
    local last = redis.call('XREVRANGE', K_EVENTS, '+', '-', 'COUNT', 1)
    if #last > 0 then
      local kept = tonumber(string.match(last[1][1], '^(%d+)'))
      if kept > start then start = kept end
    end
    redis.call('SET', K_SEQ, int(start))
  end
  return redis.call('INCR', K_SEQ)
end

local function emit(kind, previous, reason, record)
  local id = int(next_sequence()) .. '-0'
  local fields = {'kind', kind, 'previous', previous, 'reason', reason, 'client', record}
  if history > 0 then
    redis.call('XADD', K_EVENTS, 'MAXLEN', '~', history, id, unpack(fields))
  else
    redis.call('XADD', K_EVENTS, 'MAXLEN', 0, id, unpack(fields))
  end
  produced[#produced + 1] = {id, fields}
end

-- Like the sequence, a version that Redis lost restarts from the clock, so it never repeats an
-- ETag or goes back (the caches in each replica keep the highest version they saw).
local function bump_version()
  if redis.call('EXISTS', K_VERSION) == 0 then redis.call('SET', K_VERSION, int(now)) end
  return redis.call('INCR', K_VERSION)
end

-- The outage credit, run first by every script that writes. swept_at is the last instant any
-- replica wrote. A gap longer than the threshold means Redis (or every replica) was away, and
-- no client could have reached us meanwhile: every client that was not down gets its deadlines
-- moved on by the gap, so the outage never counts against it. This is the memory store's
-- restart rule ("a fresh interval plus grace, unless already down"), shifted instead of reset so
-- a client keeps exactly the time it had left.
local function credit_outage()
  local swept = tonumber(redis.call('GET', K_SWEPT) or '')
  if swept ~= nil and outage_threshold > 0 and now - swept > outage_threshold then
    local gap = now - swept
    local all = redis.call('HGETALL', K_CLIENTS)
    for i = 1, #all, 2 do
      local c = decode(all[i + 1])
      if c.state ~= 'down' then
        c.next_due = c.next_due + gap
        c.down_at = c.down_at + gap
        redis.call('HSET', K_CLIENTS, c.id, encode(c))
        schedule(c)
      end
    end
    bump_version()
  end
  -- Replicas' clocks differ by a little: swept_at only moves forward.
  if swept == nil or now > swept then redis.call('SET', K_SWEPT, int(now)) end
end

local STAT_FIELDS = {'beats_total', 'transitions_total', 'rate_limited_total', 'rejected_full_total',
                     'up', 'late', 'down', 'failing'}

-- {version, seq, {stats in STAT_FIELDS order}}: what every reply ends with, so each call
-- refreshes the caller's cached counters. Missing values are false (nil in the reply).
local function status()
  return {redis.call('GET', K_VERSION) or '0', redis.call('GET', K_SEQ) or '0',
          redis.call('HMGET', K_STATS, unpack(STAT_FIELDS))}
end
