-- common.lua: prepended to every script. The keys, the record coding, the state rule, events,
-- history, the outage credit and the status every reply ends with.
--
-- KEYS (the same for every script): 1 clients (hash: id -> record), 2 deadlines (zset: online
-- id -> the microsecond of its next transition, late or down, in credited time: see below),
-- 3 beaten (zset: id -> the version of its last beat), 4 events (stream), 5 stats (hash of
-- counters), 6 version, 7 seq, 8 swept_at, 9 expiries (zset: down id -> the microsecond it is
-- forgotten), 10 credit (the outage credit so far, microseconds), 11 logs (hash: id -> the last
-- log a beat carried; apart from the record so that listings never read it), 12 the prefix of the
-- per-client history lists ("{prefix}history:"; the list of client X is that followed by X).
-- Paused clients are in neither `deadlines` nor `expiries`: time changes nothing for them.
-- ARGV (the same first five for every script): 1 now (microseconds since the epoch, on the
-- caller's store clock), 2 outage threshold (microseconds; 0: no outage credit), 3 event history
-- (the stream's MAXLEN ~), 4 retention (microseconds), 5 history length (entries kept per
-- client; 0: none). The script's own arguments follow.
local K_CLIENTS, K_DEADLINES, K_BEATEN, K_EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_STATS, K_VERSION, K_SEQ, K_SWEPT = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local K_EXPIRIES, K_CREDIT, K_LOGS, K_HISTORY = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local now = tonumber(ARGV[1])
local outage_threshold = tonumber(ARGV[2])
local history = tonumber(ARGV[3])
local retention = tonumber(ARGV[4])
local history_length = tonumber(ARGV[5])

-- The outage credit: the total time Redis, or every replica, was away (see credit_outage).
-- A record keeps the credit at its writing; an online client's deadlines are read moved on by
-- whatever credit came since, so one SET credits every client at once. Its score in `deadlines`
-- is its deadline minus the credit at writing, compared with now minus the credit now.
local credit = tonumber(redis.call('GET', K_CREDIT) or '0')

-- Lua numbers are doubles: exact for integers below 2^53 (microseconds until the year 2255),
-- but tostring() and cjson keep only 14 digits. Every number that leaves a script goes through this.
local function int(n)
  return string.format('%d', n)
end

-- Times, durations, the beat count and the credit are strings in a record (see record_codec.hpp).
local NUMBER_FIELDS = {'beats', 'last_beat', 'last_ok', 'next_due', 'down_at', 'rate_limit_at', 'credit',
                       'last_duration'}
-- Flags are 1 when set and absent otherwise (the record is a flat object of strings and numbers).
local FLAG_FIELDS = {'paused', 'held'}
-- c.holder (a string, absent when none): the token of the server that held the client last
-- (presence_store.hpp's Signal). Kept after a release, so that a stale release or refresh from
-- another replica can be told from the holder's.
-- Open runs are flat too: run1_rid, run1_started (microseconds, a string), run2_..., oldest first.
local MAX_OPEN_RUNS = 4  -- limits.hpp's kMaxOpenRuns

-- A record as it is now: an online client's deadlines carry the credit earned since it was written.
-- In the table, flags are booleans and c.runs is a list of {rid = ..., started = ...}.
local function decode(text)
  local c = cjson.decode(text)
  for _, f in ipairs(NUMBER_FIELDS) do
    if c[f] ~= nil then c[f] = tonumber(c[f]) end
  end
  for _, f in ipairs(FLAG_FIELDS) do c[f] = c[f] == 1 end
  c.runs = {}
  for i = 1, MAX_OPEN_RUNS do
    local started = c['run' .. i .. '_started']
    if started == nil then break end
    c.runs[i] = {rid = c['run' .. i .. '_rid'] or '', started = tonumber(started)}
    c['run' .. i .. '_started'] = nil
    c['run' .. i .. '_rid'] = nil
  end
  if c.credit ~= nil and c.state ~= 'down' and c.credit ~= credit then
    c.next_due = c.next_due + (credit - c.credit)
    c.down_at = c.down_at + (credit - c.credit)
  end
  c.credit = credit
  return c
end

local function encode(c)
  local out = {}
  for k, v in pairs(c) do out[k] = v end
  out.credit = credit
  for _, f in ipairs(NUMBER_FIELDS) do
    if out[f] ~= nil then out[f] = int(out[f]) end
  end
  for _, f in ipairs(FLAG_FIELDS) do
    if out[f] then out[f] = 1 else out[f] = nil end
  end
  out.runs = nil
  for i, run in ipairs(c.runs or {}) do
    out['run' .. i .. '_rid'] = run.rid
    out['run' .. i .. '_started'] = int(run.started)
  end
  return cjson.encode(out)
end

-- Signal's holder rule: an empty token, sent or kept, stands for any holder.
local function same_holder(c, token)
  return token == '' or c.holder == nil or c.holder == '' or c.holder == token
end

-- client_state.hpp's state_at(), the one rule.
local function state_at(t, c)
  if c.paused then return 'paused' end
  if t < c.next_due then
    if c.health == 'fail' then return 'failing' end
    return 'up'
  end
  if t < c.down_at then return 'late' end
  return 'down'
end

-- Time only makes a client worse: up or failing, then late, then down. Paused is outside time.
local SEVERITY = {up = 0, failing = 0, late = 1, down = 2, paused = -1}

-- When time alone next changes this client: late or down (in `deadlines`), or forgotten (in
-- `expiries`, real time: a down client's retention counts from when it went down, outage or not).
-- A paused client is in neither: only its next beat changes it.
local function schedule(c)
  if c.state == 'paused' then
    redis.call('ZREM', K_DEADLINES, c.id)
    redis.call('ZREM', K_EXPIRIES, c.id)
    return
  end
  if c.state == 'down' then
    redis.call('ZREM', K_DEADLINES, c.id)
    redis.call('ZADD', K_EXPIRIES, int(c.down_at + retention), c.id)
    return
  end
  local deadline = c.next_due
  if c.state == 'late' then deadline = c.down_at end
  redis.call('ZADD', K_DEADLINES, int(deadline - credit), c.id)
  redis.call('ZREM', K_EXPIRIES, c.id)
end

-- The client's history: a list of the last history_length entries, oldest first, each one line:
-- "c <at> <from, or - on a join> <to>" for a state change, "r <at> <ok|fail> <exit status or -> <duration>"
-- for a run that ended (times and durations in microseconds). See record_codec.hpp.
local function remember(id, entry)
  if history_length <= 0 then return end
  local key = K_HISTORY .. id
  redis.call('RPUSH', key, entry)
  redis.call('LTRIM', key, -history_length, -1)
end

local function remember_change(id, from, to)
  remember(id, 'c ' .. int(now) .. ' ' .. (from or '-') .. ' ' .. to)
end

local function count(state, delta)
  redis.call('HINCRBY', K_STATS, state, delta)
end

local function forget(id)
  redis.call('HDEL', K_CLIENTS, id)
  redis.call('ZREM', K_DEADLINES, id)
  redis.call('ZREM', K_EXPIRIES, id)
  redis.call('ZREM', K_BEATEN, id)
  redis.call('HDEL', K_LOGS, id)
  redis.call('DEL', K_HISTORY .. id)
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

-- `record` is encode()'s text: the client as it was right after the event.
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

-- A join (previous nil) or a change of state (previous ~= c.state), written as `record`:
-- counted, announced and remembered in the client's history. Nothing for the same state.
-- Returns whether there was one.
local function announce(c, previous, record)
  if previous == nil then
    count(c.state, 1)
    emit('join', '', 'signed_off', record)
  elseif previous ~= c.state then
    count(previous, -1)
    count(c.state, 1)
    redis.call('HINCRBY', K_STATS, 'transitions_total', 1)
    emit('change', previous, 'signed_off', record)
  else
    return false
  end
  remember_change(c.id, previous, c.state)
  return true
end

-- The outage credit, run first by every script that writes. swept_at is the latest instant any
-- replica wrote. A gap longer than the threshold means Redis (or every replica) was away, and
-- no client could have reached us meanwhile: every client that was not down gets its deadlines
-- moved on by the gap (one SET: see `credit` above), so the outage never counts against it.
-- This is the memory store's restart rule ("a fresh interval plus grace, unless already down"),
-- shifted instead of reset so a client keeps exactly the time it had left.
local function credit_outage()
  local swept = tonumber(redis.call('GET', K_SWEPT) or '')
  if swept ~= nil and outage_threshold > 0 and now - swept > outage_threshold then
    credit = credit + (now - swept)
    redis.call('SET', K_CREDIT, int(credit))
    bump_version()  -- listings show the new deadlines
  end
  -- Replicas' clocks differ by a little: swept_at only moves forward.
  if swept == nil or now > swept then redis.call('SET', K_SWEPT, int(now)) end
end

local STAT_FIELDS = {'beats_total', 'transitions_total', 'rate_limited_total', 'rejected_full_total',
                     'up', 'late', 'down', 'failing', 'paused'}

-- {version, seq, {stats in STAT_FIELDS order}}: what every reply ends with, so each call
-- refreshes the caller's cached counters. Missing values are false (nil in the reply).
local function status()
  return {redis.call('GET', K_VERSION) or '0', redis.call('GET', K_SEQ) or '0',
          redis.call('HMGET', K_STATS, unpack(STAT_FIELDS))}
end
