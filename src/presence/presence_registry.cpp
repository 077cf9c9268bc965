// PresenceRegistry: sharded in-memory presence. Every mutation happens under one shard's lock and
// reads the clock inside it, so each client's history is a single, time-ordered sequence.
#include "pulse/presence/presence_registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "pulse/presence/history_ring.hpp"
#include "pulse/presence/validation.hpp"

namespace pulse::presence {
namespace {

static_assert(std::has_single_bit(kShardCount), "shard selection takes the top bits of a hash");

constexpr Time kNever = Time::min();  // last_ok of a client that never reported ok
constexpr std::int64_t kNoDuration = -1;

std::uint64_t default_start_sequence(const Clock& clock) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(clock.now().time_since_epoch());
  return micros.count() > 0 ? static_cast<std::uint64_t>(micros.count()) : 0;
}

bool settings_in_bounds(std::chrono::seconds interval, std::chrono::seconds grace) {
  return interval >= kMinInterval && interval <= kMaxInterval && grace >= kMinGrace && grace <= kMaxGrace;
}

bool run_id_valid(std::string_view rid) {
  return rid.size() <= kMaxRunIdBytes && !message_error(rid);
}

// What a request may carry, whatever its signal. Settings are checked once they are resolved
// against the client's own (they are sticky).
bool request_valid(const BeatRequest& request) {
  if (client_id_error(request.id) || message_error(request.message) || !run_id_valid(request.run_id)) return false;
  if (request.interval && (*request.interval < kMinInterval || *request.interval > kMaxInterval)) return false;
  if (request.grace && (*request.grace < kMinGrace || *request.grace > kMaxGrace)) return false;
  if (request.log && request.log->size() > kMaxLogBytes) return false;
  return request.signal != Signal::kExit || request.exit_code.has_value();
}

bool restorable(const ClientView& client) {
  return !client_id_error(client.id) && !message_error(client.message) && !remote_addr_error(client.remote_addr) &&
         settings_in_bounds(client.interval, client.grace) &&
         std::all_of(client.runs.begin(), client.runs.end(),
                     [](const OpenRun& run) { return run_id_valid(run.rid); }) &&
         (!client.last_duration || *client.last_duration >= std::chrono::milliseconds(0));
}

HistoryEntry change_entry(Time at, std::optional<ClientState> from, ClientState to) {
  return HistoryEntry{.at = at, .kind = HistoryKind::kChange, .from = from, .to = to};
}

// Signal's holder rule: an empty token, sent or kept, stands for any holder.
bool same_holder(std::string_view holder, std::string_view token) noexcept {
  return token.empty() || holder.empty() || token == holder;
}

}  // namespace

// One client, packed: about 150 bytes plus its map node, its place in the deadline index and its
// history (a ClientView, which every read builds afresh, is over 250 bytes with its strings).
struct PresenceRegistry::Record {
  // Only job clients and beats with a body need these, so they sit behind one pointer that
  // stays null for everyone else.
  struct Extras {
    std::vector<OpenRun> runs;  // oldest first, at most kMaxOpenRuns
    std::string log;            // the last body kept
    // The token of the server that held it last (Signal): kept after a release too, so that a
    // stale release or refresh from another replica can be told apart from the holder's.
    CompactString holder;
  };

  CompactString message;
  CompactString remote_addr;
  std::uint64_t beats = 0;
  Time last_beat{};
  Time last_ok = kNever;
  Time next_due{};  // late from here
  Time down_at{};   // down from here
  // Generic cell rate algorithm: the earliest time the next beat conforms to the rate limit.
  Time rate_limit_at{};
  // Its key in the shard's deadlines, when time alone changes it next; Time::max(): not filed
  // (paused). The deadline index orders by this field, so it changes only through schedule().
  Time scheduled = Time::max();
  std::int64_t last_duration_ms = kNoDuration;
  std::uint32_t interval_s = 0;
  std::uint32_t grace_s = 0;
  ClientState state = ClientState::kUp;
  Health health = Health::kOk;
  bool paused = false;
  bool held = false;
  bool has_exit_code = false;
  std::uint8_t exit_code = 0;
  bool beaten = false;  // queued in the shard's beaten list
  HistoryRing history;
  std::unique_ptr<Extras> extras;
  // The shard's list of clients that beat since the last take_beaten(), threaded through the
  // records so that queueing costs nothing, and leaving the list is O(1).
  Entry* beaten_prev = nullptr;
  Entry* beaten_next = nullptr;

  [[nodiscard]] std::chrono::seconds interval() const noexcept { return std::chrono::seconds(interval_s); }
  [[nodiscard]] std::chrono::seconds grace() const noexcept { return std::chrono::seconds(grace_s); }
  [[nodiscard]] bool running() const noexcept { return extras && !extras->runs.empty(); }
  Extras& extras_made() {
    if (!extras) extras = std::make_unique<Extras>();
    return *extras;
  }
  // Frees the extras once they hold nothing.
  void trim_extras() noexcept {
    if (extras && extras->runs.empty() && extras->log.empty() && extras->holder.empty()) extras.reset();
  }
  [[nodiscard]] std::string_view holder() const noexcept { return extras ? extras->holder.view() : std::string_view(); }
  void set_holder(std::string_view token) {
    if (!token.empty()) {
      extras_made().holder.assign(token);
    } else if (extras) {
      extras->holder.assign(token);
      trim_extras();
    }
  }

  void open_run(std::string_view rid, Time now) {
    auto& runs = extras_made().runs;
    // A start of a run already open (the same rid, or none) restarts it: the earlier start
    // never ended, and ending the new one must not measure from the old one.
    std::erase_if(runs, [&](const OpenRun& run) { return run.rid == rid; });
    if (runs.size() >= kMaxOpenRuns) runs.erase(runs.begin());
    runs.push_back(OpenRun{std::string(rid), now});
  }

  // Ends the open run with `rid`, or the oldest when `rid` is empty; nullopt when none matches.
  std::optional<std::chrono::milliseconds> end_run(std::string_view rid, Time now) {
    if (!running()) return std::nullopt;
    auto& runs = extras->runs;
    const auto run = rid.empty()
                         ? runs.begin()
                         : std::find_if(runs.begin(), runs.end(), [&](const OpenRun& open) { return open.rid == rid; });
    if (run == runs.end()) return std::nullopt;
    const auto duration = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(now - run->started),
                                   std::chrono::milliseconds(0));
    runs.erase(run);
    trim_extras();
    return duration;
  }

  void set_log(const std::string& log) {
    if (log.empty()) {
      if (extras) extras->log = std::string();
      trim_extras();
    } else {
      extras_made().log = std::string(log);  // a fresh string: no capacity left from a longer one
    }
  }
};

struct PresenceRegistry::Shard {
  // Lets the map be searched with a string_view, without building a key per lookup.
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const noexcept { return std::hash<std::string_view>{}(id); }
    std::size_t operator()(const CompactString& id) const noexcept { return (*this)(id.view()); }
  };
  // The deadline index: by the time a client changes next, then by address for a total order.
  struct ByDeadline {
    bool operator()(const Entry* a, const Entry* b) const noexcept {
      if (a->second.scheduled != b->second.scheduled) return a->second.scheduled < b->second.scheduled;
      return std::less<const Entry*>{}(a, b);
    }
  };

  mutable std::mutex mutex;
  // Nodes stay put however the map rehashes, so the index and the list below point into it.
  std::unordered_map<CompactString, Record, IdHash, std::equal_to<>> clients;  // guarded by mutex
  // Every client that time alone will change (all but the paused ones), so a tick visits only
  // the clients that are due, not all of them four times a second.
  std::set<Entry*, ByDeadline> deadlines;  // guarded by mutex
  // Clients that beat since the last take_beaten(), each once, oldest first: a subset of
  // `clients` (a leaving client leaves the list too), so it never outgrows the shard.
  Entry* beaten_head = nullptr;  // guarded by mutex
  Entry* beaten_tail = nullptr;  // guarded by mutex
  std::size_t beaten_count = 0;  // guarded by mutex

  void note_beaten(Entry& entry) noexcept {
    Record& record = entry.second;
    if (record.beaten) return;
    record.beaten = true;
    record.beaten_prev = beaten_tail;
    record.beaten_next = nullptr;
    (beaten_tail ? beaten_tail->second.beaten_next : beaten_head) = &entry;
    beaten_tail = &entry;
    ++beaten_count;
  }

  void unlink_beaten(Entry& entry) noexcept {
    Record& record = entry.second;
    if (!record.beaten) return;
    (record.beaten_prev ? record.beaten_prev->second.beaten_next : beaten_head) = record.beaten_next;
    (record.beaten_next ? record.beaten_next->second.beaten_prev : beaten_tail) = record.beaten_prev;
    record.beaten = false;
    record.beaten_prev = record.beaten_next = nullptr;
    --beaten_count;
  }

  // Erases the client and everything kept for it.
  void forget(Entry& entry) {
    if (entry.second.scheduled != Time::max()) deadlines.erase(&entry);
    unlink_beaten(entry);
    clients.erase(clients.find(entry.first.view()));
  }
};

namespace {

RegistryOptions checked(RegistryOptions options) {
  options.history_length = std::min(options.history_length, kMaxHistoryLength);
  return options;
}

}  // namespace

PresenceRegistry::PresenceRegistry(RegistryOptions options, std::shared_ptr<const Clock> clock)
    : options_(checked(std::move(options))),
      clock_(clock ? std::move(clock) : std::make_shared<SystemClock>()),
      rate_emission_(options_.max_beats_per_second == 0
                         ? std::chrono::nanoseconds{0}
                         : std::chrono::nanoseconds(std::chrono::seconds(1)) / options_.max_beats_per_second),
      rate_tolerance_(options_.max_beats_per_second == 0 ? std::chrono::nanoseconds{0}
                                                         : rate_emission_ * (options_.max_beats_per_second - 1)),
      shards_(std::make_unique<Shard[]>(kShardCount)),
      events_(options_.event_history, options_.start_sequence.value_or(default_start_sequence(*clock_))) {}

PresenceRegistry::~PresenceRegistry() = default;

PresenceRegistry::Shard& PresenceRegistry::shard_for(std::string_view id) noexcept {
  return const_cast<Shard&>(std::as_const(*this).shard_for(id));
}

const PresenceRegistry::Shard& PresenceRegistry::shard_for(std::string_view id) const noexcept {
  // Fibonacci hashing: the map buckets use the low bits of the same hash, so take the high ones.
  constexpr int kShift = 64 - std::countr_zero(kShardCount);
  const std::uint64_t mixed = static_cast<std::uint64_t>(Shard::IdHash{}(id)) * 0x9E3779B97F4A7C15ULL;
  return shards_[static_cast<std::size_t>(mixed >> kShift)];
}

bool PresenceRegistry::admit_rate(Record& record, Time now) const noexcept {
  if (options_.max_beats_per_second == 0) return true;
  // GCRA: a beat conforms unless it comes more than `tolerance` ahead of its theoretical time,
  // which allows a burst of max_beats_per_second and then that rate, with one timestamp per id.
  const Time theoretical = std::max(record.rate_limit_at, now);
  if (theoretical - now > rate_tolerance_) return false;
  record.rate_limit_at = theoretical + rate_emission_;
  return true;
}

void PresenceRegistry::add_history(Record& record, const HistoryEntry& entry) const {
  record.history.push(entry, options_.history_length);
}

PresenceEvent PresenceRegistry::change_state(Entry& entry, ClientState state, Time now) {
  Record& record = entry.second;
  const ClientState previous = record.state;
  state_counts_[index_of(previous)].fetch_sub(1, std::memory_order_relaxed);
  state_counts_[index_of(state)].fetch_add(1, std::memory_order_relaxed);
  record.state = state;
  transitions_total_.fetch_add(1, std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_relaxed);
  add_history(record, change_entry(now, previous, state));
  return append_event(EventKind::kChange, previous, LeaveReason::kSignedOff, view_of(entry));
}

Time PresenceRegistry::next_transition(const Record& record) const noexcept {
  switch (record.state) {
    case ClientState::kUp:
    case ClientState::kFailing: return record.next_due;
    case ClientState::kLate: return record.down_at;
    case ClientState::kPaused: return Time::max();  // until its next beat
    case ClientState::kDown: break;
  }
  // Far-future times saturate rather than overflow.
  return record.down_at > Time::max() - options_.retention ? Time::max() : record.down_at + options_.retention;
}

void PresenceRegistry::schedule(Shard& shard, Entry& entry) const {
  Record& record = entry.second;
  const Time next = next_transition(record);
  if (next == record.scheduled) return;
  // Out of the index before its key changes, or the set's order breaks.
  if (record.scheduled != Time::max()) shard.deadlines.erase(&entry);
  record.scheduled = next;
  if (next != Time::max()) shard.deadlines.insert(&entry);
}

ClientView PresenceRegistry::view_of(const Entry& entry) const {
  const Record& record = entry.second;
  ClientView client;
  client.id = entry.first.str();
  client.state = record.state;
  client.health = record.health;
  client.interval = record.interval();
  client.grace = record.grace();
  client.message = record.message.str();
  client.remote_addr = record.remote_addr.str();
  client.beats = record.beats;
  client.last_beat = record.last_beat;
  if (record.last_ok != kNever) client.last_ok = record.last_ok;
  client.next_due = record.next_due;
  client.down_at = record.down_at;
  client.paused = record.paused;
  client.held = record.held;
  if (record.extras) {
    client.runs = record.extras->runs;
    client.log_bytes = record.extras->log.size();
  }
  if (record.last_duration_ms != kNoDuration) client.last_duration = std::chrono::milliseconds(record.last_duration_ms);
  if (record.has_exit_code) client.exit_code = record.exit_code;
  return client;
}

PresenceEvent PresenceRegistry::append_event(EventKind kind, std::optional<ClientState> previous, LeaveReason reason,
                                             const ClientView& client) {
  PresenceEvent event{.sequence = 0, .kind = kind, .previous = previous, .reason = reason, .client = client};
  event.sequence = events_.append(event);
  return event;
}

BeatResult PresenceRegistry::beat(const BeatRequest& request) {
  if (!request_valid(request)) return BeatResult{.outcome = BeatOutcome::kInvalid};
  switch (request.signal) {
    case Signal::kPause:
    case Signal::kAlive:
    case Signal::kRelease: return record_signal(request);
    case Signal::kBeat:
    case Signal::kStart:
    case Signal::kFail:
    case Signal::kExit:
    case Signal::kHold: break;
  }
  return record_beat(request);
}

BeatResult PresenceRegistry::record_beat(const BeatRequest& request) {
  BeatResult result;
  Shard& shard = shard_for(request.id);
  std::lock_guard lock(shard.mutex);
  const Time now = clock_->now();
  auto it = shard.clients.find(std::string_view(request.id));
  const bool created = it == shard.clients.end();

  // Sticky settings: what the client said last, unless this request says otherwise.
  std::chrono::seconds interval = created ? options_.default_interval : it->second.interval();
  std::chrono::seconds grace = created ? default_grace(interval) : it->second.grace();
  if (request.interval) {
    interval = *request.interval;
    grace = request.grace.value_or(default_grace(interval));
  } else if (request.grace) {
    grace = *request.grace;
  }
  if (!settings_in_bounds(interval, grace)) {
    result.outcome = BeatOutcome::kInvalid;
    return result;
  }

  if (created) {
    // Reserve the slot before inserting, so concurrent shards never overshoot the maximum.
    if (client_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_clients) {
      client_count_.fetch_sub(1, std::memory_order_relaxed);
      rejected_full_total_.fetch_add(1, std::memory_order_relaxed);
      result.outcome = BeatOutcome::kFull;
      return result;
    }
    it = shard.clients.try_emplace(CompactString(request.id)).first;
    it->second.rate_limit_at = now;
  }
  Entry& entry = *it;
  Record& record = entry.second;
  if (!admit_rate(record, now)) {
    rate_limited_total_.fetch_add(1, std::memory_order_relaxed);
    result.outcome = BeatOutcome::kRateLimited;
    return result;
  }
  if (!created) result.previous = record.state;

  record.interval_s = static_cast<std::uint32_t>(interval.count());
  record.grace_s = static_cast<std::uint32_t>(grace.count());
  bool ends_run = false;
  std::optional<std::uint8_t> exit_code;
  switch (request.signal) {
    case Signal::kBeat:
      if (request.health) {
        record.health = *request.health;
        ends_run = true;
      } else if (!record.running()) {
        record.health = Health::kOk;  // with a run open, a plain beat only says "still alive"
      }
      break;
    case Signal::kStart: record.open_run(request.run_id, now); break;
    case Signal::kFail:
      record.health = Health::kFail;
      ends_run = true;
      break;
    case Signal::kExit:
      exit_code = *request.exit_code;
      record.health = *exit_code == 0 ? Health::kOk : Health::kFail;
      record.has_exit_code = true;
      record.exit_code = *exit_code;
      ends_run = true;
      break;
    case Signal::kHold:
      record.held = true;
      record.set_holder(request.run_id);  // the holder token, not an rid
      break;
    case Signal::kPause:
    case Signal::kAlive:
    case Signal::kRelease: break;  // not beats: record_signal()
  }
  if (request.signal == Signal::kExit && *exit_code != 0 && request.message.empty()) {
    record.message.assign(fmt::format("exit {}", *exit_code));
  } else if (request.signal != Signal::kHold || !request.message.empty()) {
    record.message.assign(request.message);
  }
  // The server's own peer address, so not validated; capped so no record outgrows its limits.
  record.remote_addr.assign(std::string_view(request.remote_addr).substr(0, kMaxRemoteAddrBytes));
  if (request.log) record.set_log(*request.log);
  record.beats += 1;
  record.last_beat = now;
  if (record.health == Health::kOk) record.last_ok = now;
  record.paused = false;
  if (request.signal == Signal::kHold) {
    // The holding server refreshes it (kAlive); its own interval applies again after a release.
    record.next_due = now + kHoldRefresh;
    record.down_at = record.next_due + kHoldGrace;
  } else if (record.held) {
    // The hold vouches for it until its own deadlines: a beat with a short interval must not
    // make a held client late (or down) sooner than the hold would.
    record.next_due = std::max(now + interval, record.next_due);
    record.down_at = std::max(now + interval + grace, record.down_at);
  } else {
    record.next_due = now + interval;
    record.down_at = record.next_due + grace;
  }

  if (ends_run) {
    if (const auto duration = record.end_run(request.run_id, now)) {
      record.last_duration_ms = duration->count();
      result.run_duration = *duration;
      add_history(record, HistoryEntry{.at = now,
                                       .kind = HistoryKind::kRun,
                                       .from = std::nullopt,
                                       .to = ClientState::kUp,
                                       .result = record.health,
                                       .exit_code = exit_code,
                                       .duration = *duration});
    }
  }
  const ClientState state = state_at(now, record.next_due, record.down_at, record.health);
  if (created) {
    record.state = state;
    state_counts_[index_of(state)].fetch_add(1, std::memory_order_relaxed);
    add_history(record, change_entry(now, std::nullopt, state));
    result.event = append_event(EventKind::kJoin, std::nullopt, LeaveReason::kSignedOff, view_of(entry));
  } else if (state != record.state) {
    result.event = change_state(entry, state, now);
  }
  schedule(shard, entry);
  version_.fetch_add(1, std::memory_order_relaxed);
  beats_total_.fetch_add(1, std::memory_order_relaxed);
  shard.note_beaten(entry);

  result.outcome = created ? BeatOutcome::kCreated : BeatOutcome::kUpdated;
  result.client = result.event ? result.event->client : view_of(entry);
  return result;
}

BeatResult PresenceRegistry::record_signal(const BeatRequest& request) {
  BeatResult result;
  Shard& shard = shard_for(request.id);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.clients.find(std::string_view(request.id));
  if (it == shard.clients.end()) {
    result.outcome = BeatOutcome::kNotFound;
    return result;
  }
  const Time now = clock_->now();
  Entry& entry = *it;
  Record& record = entry.second;
  bool changed = false;
  bool refreshed = false;  // kAlive: the deadlines moved
  switch (request.signal) {
    case Signal::kPause:
      if (!admit_rate(record, now)) {
        rate_limited_total_.fetch_add(1, std::memory_order_relaxed);
        result.outcome = BeatOutcome::kRateLimited;
        return result;
      }
      changed = !record.paused;
      record.paused = true;
      break;
    case Signal::kAlive:
      // Only servers holding a connection send these, so no rate limit. The holder's refreshes a
      // held client; a client its hold no longer covers (released, or restored) is left to its
      // own interval. Another server's, while the client is held, comes from a connection of
      // this client that is dead but not yet seen to drop (it reconnected to the holder): taking
      // the hold over would let that connection's release make the client late. Once nobody
      // holds it, a server whose connection is still there takes the hold over.
      if (same_holder(record.holder(), request.run_id)) {
        refreshed = record.held;
      } else if (!record.held) {
        record.held = true;
        record.set_holder(request.run_id);
        changed = true;
      }
      if (refreshed || changed) {
        record.next_due = now + kHoldRefresh;
        record.down_at = record.next_due + kHoldGrace;
      }
      break;
    case Signal::kRelease:
      // Only the holder's release counts: another server's is for a connection of this client
      // that it held before the client reconnected to the holder.
      if (record.held && same_holder(record.holder(), request.run_id)) {
        record.held = false;
        changed = true;
        if (!record.paused) {
          // A dropped connection is news at once: late now, down after the hold grace.
          record.next_due = now;
          record.down_at = now + kHoldGrace;
        }
      }
      break;
    case Signal::kBeat:
    case Signal::kStart:
    case Signal::kFail:
    case Signal::kExit:
    case Signal::kHold: break;  // beats: record_beat()
  }
  result.outcome = BeatOutcome::kUpdated;
  result.previous = record.state;
  if (changed || refreshed) {
    const ClientState state = state_at(now, record.next_due, record.down_at, record.health, record.paused);
    if (state != record.state) result.event = change_state(entry, state, now);
    schedule(shard, entry);
  }
  // A refresh alone changes only deadlines, every few seconds per held client: not worth a new
  // listing version (and the ETag it breaks).
  if (changed) version_.fetch_add(1, std::memory_order_relaxed);
  result.client = result.event ? result.event->client : view_of(entry);
  return result;
}

std::optional<ClientView> PresenceRegistry::find(std::string_view id) const {
  const Shard& shard = shard_for(id);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.clients.find(id);
  if (it == shard.clients.end()) return std::nullopt;
  return view_of(*it);
}

std::optional<ClientDetail> PresenceRegistry::detail(std::string_view id) const {
  const Shard& shard = shard_for(id);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.clients.find(id);
  if (it == shard.clients.end()) return std::nullopt;
  const Record& record = it->second;
  return ClientDetail{view_of(*it), record.extras ? record.extras->log : std::string(), record.history.entries()};
}

bool PresenceRegistry::remove(std::string_view id) {
  Shard& shard = shard_for(id);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.clients.find(id);
  if (it == shard.clients.end()) return false;
  Entry& entry = *it;
  state_counts_[index_of(entry.second.state)].fetch_sub(1, std::memory_order_relaxed);
  client_count_.fetch_sub(1, std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_relaxed);
  append_event(EventKind::kLeave, std::nullopt, LeaveReason::kSignedOff, view_of(entry));
  shard.forget(entry);
  return true;
}

Listing PresenceRegistry::list(const ListFilter& filter) const {
  // All shard locks, always in index order (no other path holds two): one consistent snapshot
  // whose version and sequence match exactly the clients it contains.
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(kShardCount);
  for (std::size_t i = 0; i < kShardCount; ++i) locks.emplace_back(shards_[i].mutex);

  Listing listing;
  listing.version = version_.load(std::memory_order_relaxed);
  listing.sequence = events_.last_sequence();
  for (const ClientState state : kAllClientStates) {
    listing.counts.by_state[index_of(state)] = state_counts_[index_of(state)].load(std::memory_order_relaxed);
  }
  // Room for every client at once: growing by doubling would copy the views already taken, all
  // under the locks.
  std::vector<ClientView> views;
  views.reserve(client_count_.load(std::memory_order_relaxed));
  for (std::size_t i = 0; i < kShardCount; ++i) {
    for (const Entry& entry : shards_[i].clients) {
      // ListFilter::matches(), on the record: no view is built for a client left out.
      if (filter.states.test(index_of(entry.second.state)) && entry.first.view().starts_with(filter.prefix)) {
        views.push_back(view_of(entry));
      }
    }
  }
  locks.clear();
  // Sorted outside the locks. Sorting an index instead moves each view once, but its comparisons
  // reach views all over memory: 144 against 118 ms of CPU per 100,000-client list, measured.
  std::sort(views.begin(), views.end(), [](const ClientView& x, const ClientView& y) { return x.id < y.id; });
  listing.clients = std::move(views);
  return listing;
}

std::vector<PresenceEvent> PresenceRegistry::tick() {
  std::vector<PresenceEvent> produced;
  for (std::size_t i = 0; i < kShardCount; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    const Time now = clock_->now();
    // Only the clients due: each is filed again under a time after `now`, or forgotten.
    while (!shard.deadlines.empty() && (*shard.deadlines.begin())->second.scheduled <= now) {
      Entry& entry = **shard.deadlines.begin();
      Record& record = entry.second;
      const ClientState state = state_at(now, record.next_due, record.down_at, record.health, record.paused);
      if (state != record.state) produced.push_back(change_state(entry, state, now));
      if (record.state == ClientState::kDown && now - record.down_at >= options_.retention) {
        state_counts_[index_of(record.state)].fetch_sub(1, std::memory_order_relaxed);
        client_count_.fetch_sub(1, std::memory_order_relaxed);
        version_.fetch_add(1, std::memory_order_relaxed);
        produced.push_back(append_event(EventKind::kLeave, std::nullopt, LeaveReason::kExpired, view_of(entry)));
        shard.forget(entry);
        continue;
      }
      schedule(shard, entry);
    }
  }
  return produced;
}

Time PresenceRegistry::now() const {
  return clock_->now();
}

std::optional<std::vector<PresenceEvent>> PresenceRegistry::events_after(std::uint64_t sequence) const {
  return events_.after(sequence);
}

std::uint64_t PresenceRegistry::last_sequence() const {
  return events_.last_sequence();
}

std::uint64_t PresenceRegistry::version() const {
  return version_.load(std::memory_order_relaxed);
}

StoreCounters PresenceRegistry::counters() const {
  StoreCounters counters;
  for (const ClientState state : kAllClientStates) {
    counters.clients.by_state[index_of(state)] = state_counts_[index_of(state)].load(std::memory_order_relaxed);
  }
  counters.beats_total = beats_total_.load(std::memory_order_relaxed);
  counters.transitions_total = transitions_total_.load(std::memory_order_relaxed);
  counters.rate_limited_total = rate_limited_total_.load(std::memory_order_relaxed);
  counters.rejected_full_total = rejected_full_total_.load(std::memory_order_relaxed);
  return counters;
}

std::vector<ClientView> PresenceRegistry::take_beaten(std::size_t max) {
  std::vector<ClientView> taken;
  // Start at a different shard each call, so a small `max` cannot starve the last shards.
  const std::size_t first = next_beaten_shard_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t n = 0; n < kShardCount && taken.size() < max; ++n) {
    Shard& shard = shards_[(first + n) % kShardCount];
    std::lock_guard lock(shard.mutex);
    while (shard.beaten_head != nullptr && taken.size() < max) {
      Entry& entry = *shard.beaten_head;
      taken.push_back(view_of(entry));
      shard.unlink_beaten(entry);
    }
  }
  return taken;
}

PresenceRegistry::MemoryStats PresenceRegistry::memory_stats() const {
  MemoryStats stats;
  for (std::size_t i = 0; i < kShardCount; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    stats.clients += shard.clients.size();
    stats.client_buckets += shard.clients.bucket_count();
    stats.beaten += shard.beaten_count;
    stats.scheduled += shard.deadlines.size();
    for (const Entry& entry : shard.clients) {
      stats.history_entries += entry.second.history.size();
      stats.history_slots += entry.second.history.capacity();
      if (entry.second.extras) ++stats.with_extras;
    }
  }
  stats.events = events_.size();
  return stats;
}

std::vector<ClientView> PresenceRegistry::export_clients() const {
  std::vector<ClientView> clients;
  for (std::size_t i = 0; i < kShardCount; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    for (const Entry& entry : shard.clients) clients.push_back(view_of(entry));
  }
  return clients;
}

std::size_t PresenceRegistry::restore(const std::vector<ClientView>& clients) {
  std::size_t restored = 0;
  for (const ClientView& saved : clients) {
    if (!restorable(saved)) continue;
    Shard& shard = shard_for(saved.id);
    std::lock_guard lock(shard.mutex);
    if (shard.clients.contains(std::string_view(saved.id))) continue;
    if (client_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_clients) {
      client_count_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    const Time now = clock_->now();
    Entry& entry = *shard.clients.try_emplace(CompactString(saved.id)).first;
    Record& record = entry.second;
    record.message.assign(saved.message);
    record.remote_addr.assign(saved.remote_addr);
    record.beats = saved.beats;
    record.last_beat = saved.last_beat;
    record.last_ok = saved.last_ok.value_or(kNever);
    record.interval_s = static_cast<std::uint32_t>(saved.interval.count());
    record.grace_s = static_cast<std::uint32_t>(saved.grace.count());
    record.health = saved.health;
    // The hold connection did not survive the restart; the client's own interval applies.
    record.held = false;
    record.paused = saved.paused || saved.state == ClientState::kPaused;
    if (saved.last_duration) record.last_duration_ms = saved.last_duration->count();
    record.has_exit_code = saved.exit_code.has_value();
    record.exit_code = saved.exit_code.value_or(0);
    if (!saved.runs.empty()) {
      auto& runs = record.extras_made().runs;
      // The newest kMaxOpenRuns, as a start beyond the limit would have kept.
      const std::size_t skip = saved.runs.size() > kMaxOpenRuns ? saved.runs.size() - kMaxOpenRuns : 0;
      runs.assign(saved.runs.begin() + static_cast<std::ptrdiff_t>(skip), saved.runs.end());
    }
    if (record.paused) {
      // Stays paused until its next beat, which sets fresh deadlines anyway.
      record.next_due = saved.next_due;
      record.down_at = saved.down_at;
      record.state = ClientState::kPaused;
    } else if (saved.state == ClientState::kDown) {
      // Stays down; its retention keeps counting from when it went down (never in the future).
      record.down_at = std::min(saved.down_at, now);
      record.next_due = std::min(saved.next_due, record.down_at);
      record.state = ClientState::kDown;
    } else {
      // The server was away, not the client: a fresh interval plus grace before any alarm.
      record.next_due = now + saved.interval;
      record.down_at = record.next_due + saved.grace;
      record.state = state_at(now, record.next_due, record.down_at, record.health);
    }
    record.rate_limit_at = now;
    state_counts_[index_of(record.state)].fetch_add(1, std::memory_order_relaxed);
    version_.fetch_add(1, std::memory_order_relaxed);
    schedule(shard, entry);
    ++restored;
  }
  return restored;
}

}  // namespace pulse::presence
