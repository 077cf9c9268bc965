// PresenceRegistry: sharded in-memory presence. Every mutation happens under one shard's lock and
// reads the clock inside it, so each client's history is a single, time-ordered sequence.
#include "pulse/presence/presence_registry.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include "pulse/presence/validation.hpp"

namespace pulse::presence {
namespace {

static_assert(std::has_single_bit(kShardCount), "shard selection takes the top bits of a hash");

std::uint64_t default_start_sequence(const Clock& clock) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(clock.now().time_since_epoch());
  return micros.count() > 0 ? static_cast<std::uint64_t>(micros.count()) : 0;
}

bool settings_valid(const ClientView& client) {
  return !client_id_error(client.id) && !message_error(client.message) && !remote_addr_error(client.remote_addr) &&
         client.interval >= kMinInterval && client.interval <= kMaxInterval && client.grace >= kMinGrace &&
         client.grace <= kMaxGrace;
}

}  // namespace

PresenceRegistry::PresenceRegistry(RegistryOptions options, std::shared_ptr<const Clock> clock)
    : options_(std::move(options)),
      clock_(clock ? std::move(clock) : std::make_shared<SystemClock>()),
      rate_emission_(options_.max_beats_per_second == 0
                         ? std::chrono::nanoseconds{0}
                         : std::chrono::nanoseconds(std::chrono::seconds(1)) / options_.max_beats_per_second),
      rate_tolerance_(options_.max_beats_per_second == 0 ? std::chrono::nanoseconds{0}
                                                         : rate_emission_ * (options_.max_beats_per_second - 1)),
      events_(options_.event_history, options_.start_sequence.value_or(default_start_sequence(*clock_))) {}

PresenceRegistry::~PresenceRegistry() = default;

PresenceRegistry::Shard& PresenceRegistry::shard_for(std::string_view id) noexcept {
  return const_cast<Shard&>(std::as_const(*this).shard_for(id));
}

const PresenceRegistry::Shard& PresenceRegistry::shard_for(std::string_view id) const noexcept {
  // Fibonacci hashing: the map buckets use the low bits of the same hash, so take the high ones.
  constexpr int kShift = 64 - std::countr_zero(kShardCount);
  const std::uint64_t mixed = static_cast<std::uint64_t>(IdHash{}(id)) * 0x9E3779B97F4A7C15ULL;
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

void PresenceRegistry::set_state(Record& record, ClientState state) noexcept {
  state_counts_[index_of(record.view.state)].fetch_sub(1, std::memory_order_relaxed);
  state_counts_[index_of(state)].fetch_add(1, std::memory_order_relaxed);
  record.view.state = state;
}

Time PresenceRegistry::next_transition(const ClientView& client) const noexcept {
  switch (client.state) {
    case ClientState::kUp:
    case ClientState::kFailing: return client.next_due;
    case ClientState::kLate: return client.down_at;
    case ClientState::kPaused: return Time::max();  // until its next beat
    case ClientState::kDown: break;
  }
  // Far-future times saturate rather than overflow.
  return client.down_at > Time::max() - options_.retention ? Time::max() : client.down_at + options_.retention;
}

void PresenceRegistry::schedule(Shard& shard, Record& record, std::string_view id) const {
  if (record.scheduled != Time::max()) shard.deadlines.erase({record.scheduled, id});
  record.scheduled = next_transition(record.view);
  shard.deadlines.emplace(record.scheduled, id);
}

void PresenceRegistry::note_beaten(Shard& shard, const std::string& id) {
  if (!shard.beaten.contains(std::string_view(id))) shard.beaten.insert(id);
}

PresenceRegistry::ClientMap::iterator PresenceRegistry::forget(Shard& shard, ClientMap::iterator it) {
  shard.deadlines.erase({it->second.scheduled, std::string_view(it->first)});
  // Without this, ids created and deleted while no stream drains the set would pile up in it.
  if (const auto queued = shard.beaten.find(std::string_view(it->first)); queued != shard.beaten.end()) {
    shard.beaten.erase(queued);
  }
  return shard.clients.erase(it);
}

PresenceEvent PresenceRegistry::append_event(EventKind kind, std::optional<ClientState> previous, LeaveReason reason,
                                             const ClientView& client) {
  PresenceEvent event{.sequence = 0, .kind = kind, .previous = previous, .reason = reason, .client = client};
  event.sequence = events_.append(event);
  return event;
}

BeatResult PresenceRegistry::beat(const BeatRequest& request) {
  BeatResult result;
  const std::chrono::seconds interval = request.interval.value_or(options_.default_interval);
  const std::chrono::seconds grace = request.grace.value_or(default_grace(interval));
  if (client_id_error(request.id) || message_error(request.message) || interval < kMinInterval ||
      interval > kMaxInterval || grace < kMinGrace || grace > kMaxGrace) {
    result.outcome = BeatOutcome::kInvalid;
    return result;
  }

  Shard& shard = shard_for(request.id);
  std::lock_guard lock(shard.mutex);
  const Time now = clock_->now();
  auto it = shard.clients.find(std::string_view(request.id));
  const bool created = it == shard.clients.end();
  if (created) {
    // Reserve the slot before inserting, so concurrent shards never overshoot the maximum.
    if (client_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_clients) {
      client_count_.fetch_sub(1, std::memory_order_relaxed);
      rejected_full_total_.fetch_add(1, std::memory_order_relaxed);
      result.outcome = BeatOutcome::kFull;
      return result;
    }
    it = shard.clients.emplace(request.id, Record{}).first;
    it->second.view.id = request.id;
    it->second.rate_limit_at = now;
  }
  Record& record = it->second;
  if (!admit_rate(record, now)) {
    rate_limited_total_.fetch_add(1, std::memory_order_relaxed);
    result.outcome = BeatOutcome::kRateLimited;
    return result;
  }

  ClientView& client = record.view;
  if (!created) result.previous = client.state;
  client.health = request.health.value_or(Health::kOk);
  client.interval = interval;
  client.grace = grace;
  client.message = request.message;
  // The server's own peer address, so not validated; capped so no record outgrows its limits.
  client.remote_addr = request.remote_addr.substr(0, kMaxRemoteAddrBytes);
  client.beats += 1;
  client.last_beat = now;
  if (client.health == Health::kOk) client.last_ok = now;
  client.next_due = now + interval;
  client.down_at = client.next_due + grace;
  const ClientState state = state_at(now, client.next_due, client.down_at, client.health);
  if (created) {
    client.state = state;
    state_counts_[index_of(state)].fetch_add(1, std::memory_order_relaxed);
    append_event(EventKind::kJoin, std::nullopt, LeaveReason::kSignedOff, client);
  } else if (state != client.state) {
    const ClientState previous = client.state;
    set_state(record, state);
    transitions_total_.fetch_add(1, std::memory_order_relaxed);
    append_event(EventKind::kChange, previous, LeaveReason::kSignedOff, client);
  }
  schedule(shard, record, it->first);
  version_.fetch_add(1, std::memory_order_relaxed);
  beats_total_.fetch_add(1, std::memory_order_relaxed);
  note_beaten(shard, client.id);

  result.outcome = created ? BeatOutcome::kCreated : BeatOutcome::kUpdated;
  result.client = client;
  return result;
}

std::optional<ClientView> PresenceRegistry::find(std::string_view id) const {
  const Shard& shard = shard_for(id);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.clients.find(id);
  if (it == shard.clients.end()) return std::nullopt;
  return it->second.view;
}

// BASE-BRANCH PLACEHOLDER (issue 11): replaced by the real log and history.
std::optional<ClientDetail> PresenceRegistry::detail(std::string_view id) const {
  auto client = find(id);
  if (!client) return std::nullopt;
  return ClientDetail{std::move(*client), {}, {}};
}

bool PresenceRegistry::remove(std::string_view id) {
  Shard& shard = shard_for(id);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.clients.find(id);
  if (it == shard.clients.end()) return false;
  const ClientView& client = it->second.view;
  state_counts_[index_of(client.state)].fetch_sub(1, std::memory_order_relaxed);
  client_count_.fetch_sub(1, std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_relaxed);
  append_event(EventKind::kLeave, std::nullopt, LeaveReason::kSignedOff, client);
  forget(shard, it);
  return true;
}

Listing PresenceRegistry::list(const ListFilter& filter) const {
  // All shard locks, always in index order (no other path holds two): one consistent snapshot
  // whose version and sequence match exactly the clients it contains.
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(shards_.size());
  for (const Shard& shard : shards_) locks.emplace_back(shard.mutex);

  Listing listing;
  listing.version = version_.load(std::memory_order_relaxed);
  listing.sequence = events_.last_sequence();
  for (const ClientState state : kAllClientStates) {
    listing.counts.by_state[index_of(state)] = state_counts_[index_of(state)].load(std::memory_order_relaxed);
  }
  for (const Shard& shard : shards_) {
    for (const auto& [id, record] : shard.clients) {
      if (filter.matches(record.view)) listing.clients.push_back(record.view);
    }
  }
  locks.clear();
  std::sort(listing.clients.begin(), listing.clients.end(),
            [](const ClientView& a, const ClientView& b) { return a.id < b.id; });
  return listing;
}

std::vector<PresenceEvent> PresenceRegistry::tick() {
  std::vector<PresenceEvent> produced;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    const Time now = clock_->now();
    // Only the clients due: each is filed again under a time after `now`, or forgotten.
    while (!shard.deadlines.empty() && shard.deadlines.begin()->first <= now) {
      const auto it = shard.clients.find(shard.deadlines.begin()->second);
      Record& record = it->second;  // present: a client leaves its deadline with it
      ClientView& client = record.view;
      const ClientState state = state_at(now, client.next_due, client.down_at, client.health);
      if (state != client.state) {
        const ClientState previous = client.state;
        set_state(record, state);
        transitions_total_.fetch_add(1, std::memory_order_relaxed);
        version_.fetch_add(1, std::memory_order_relaxed);
        produced.push_back(append_event(EventKind::kChange, previous, LeaveReason::kSignedOff, client));
      }
      if (client.state == ClientState::kDown && now - client.down_at >= options_.retention) {
        state_counts_[index_of(client.state)].fetch_sub(1, std::memory_order_relaxed);
        client_count_.fetch_sub(1, std::memory_order_relaxed);
        version_.fetch_add(1, std::memory_order_relaxed);
        produced.push_back(append_event(EventKind::kLeave, std::nullopt, LeaveReason::kExpired, client));
        forget(shard, it);
        continue;
      }
      schedule(shard, record, it->first);
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
  for (std::size_t n = 0; n < shards_.size() && taken.size() < max; ++n) {
    Shard& shard = shards_[(first + n) % shards_.size()];
    std::lock_guard lock(shard.mutex);
    while (!shard.beaten.empty() && taken.size() < max) {
      const auto queued = shard.beaten.begin();
      // Present by the invariant: a client that leaves is taken out of `beaten` with it.
      const auto it = shard.clients.find(std::string_view(*queued));
      if (it != shard.clients.end()) taken.push_back(it->second.view);
      shard.beaten.erase(queued);
    }
  }
  return taken;
}

PresenceRegistry::MemoryStats PresenceRegistry::memory_stats() const {
  MemoryStats stats;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    stats.clients += shard.clients.size();
    stats.client_buckets += shard.clients.bucket_count();
    stats.beaten += shard.beaten.size();
    stats.beaten_buckets += shard.beaten.bucket_count();
  }
  stats.events = events_.size();
  return stats;
}

std::vector<ClientView> PresenceRegistry::export_clients() const {
  std::vector<ClientView> clients;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [id, record] : shard.clients) clients.push_back(record.view);
  }
  return clients;
}

std::size_t PresenceRegistry::restore(const std::vector<ClientView>& clients) {
  std::size_t restored = 0;
  for (const ClientView& saved : clients) {
    if (!settings_valid(saved)) continue;
    Shard& shard = shard_for(saved.id);
    std::lock_guard lock(shard.mutex);
    if (shard.clients.contains(std::string_view(saved.id))) continue;
    if (client_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_clients) {
      client_count_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    const Time now = clock_->now();
    Record record;
    record.view = saved;
    ClientView& client = record.view;
    if (saved.state == ClientState::kDown) {
      // Stays down; its retention keeps counting from when it went down (never in the future).
      client.down_at = std::min(saved.down_at, now);
      client.next_due = std::min(saved.next_due, client.down_at);
    } else {
      // The server was away, not the client: a fresh interval plus grace before any alarm.
      client.next_due = now + client.interval;
      client.down_at = client.next_due + client.grace;
      client.state = state_at(now, client.next_due, client.down_at, client.health);
    }
    record.rate_limit_at = now;
    state_counts_[index_of(client.state)].fetch_add(1, std::memory_order_relaxed);
    version_.fetch_add(1, std::memory_order_relaxed);
    const auto placed = shard.clients.emplace(client.id, std::move(record)).first;
    schedule(shard, placed->second, placed->first);
    ++restored;
  }
  return restored;
}

}  // namespace pulse::presence
