// PresenceRegistry: the embedded PresenceStore. Clients live in kShardCount shards, each an
// unordered_map behind its own mutex, so beats from many workers rarely contend.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pulse/presence/clock.hpp"
#include "pulse/presence/event_log.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::presence {

struct RegistryOptions {
  std::chrono::seconds default_interval = kDefaultInterval;
  std::chrono::seconds retention = kDefaultRetention;
  std::size_t max_clients = kDefaultMaxClients;
  unsigned max_beats_per_second = kDefaultMaxBeatsPerSecond;  // per id; 0 disables the limit
  std::size_t event_history = kDefaultEventHistory;
  // State changes and runs kept per client (detail().history); 0 keeps none.
  std::size_t history_length = kDefaultHistoryLength;
  // Event numbering starts after this. Default: the wall clock in microseconds at construction,
  // so numbers keep increasing across restarts and an id from an earlier run is never mistaken
  // for one of ours (it is too old, and the watcher gets a snapshot).
  std::optional<std::uint64_t> start_sequence;
};

class PresenceRegistry final : public PresenceStore {
 public:
  PresenceRegistry(RegistryOptions options, std::shared_ptr<const Clock> clock);
  ~PresenceRegistry() override;

  [[nodiscard]] Time now() const override;
  [[nodiscard]] BeatResult beat(const BeatRequest& request) override;
  [[nodiscard]] std::optional<ClientView> find(std::string_view id) const override;
  [[nodiscard]] std::optional<ClientDetail> detail(std::string_view id) const override;
  bool remove(std::string_view id) override;
  [[nodiscard]] Listing list(const ListFilter& filter) const override;
  std::vector<PresenceEvent> tick() override;
  [[nodiscard]] std::optional<std::vector<PresenceEvent>> events_after(std::uint64_t sequence) const override;
  [[nodiscard]] std::uint64_t last_sequence() const override;
  [[nodiscard]] std::uint64_t version() const override;
  [[nodiscard]] StoreCounters counters() const override;
  [[nodiscard]] std::vector<ClientView> take_beaten(std::size_t max) override;
  [[nodiscard]] std::vector<ClientView> export_clients() const override;
  std::size_t restore(const std::vector<ClientView>& clients) override;

  [[nodiscard]] const RegistryOptions& options() const noexcept { return options_; }

  // What the registry holds, summed over the shards, so tests can show that nothing grows with
  // the number of ids ever seen: only with the clients present now (and the fixed event history).
  struct MemoryStats {
    std::size_t clients = 0;         // records
    std::size_t client_buckets = 0;  // hash buckets behind them (never shrink: the peak count)
    std::size_t beaten = 0;          // ids queued for take_beaten(): at most `clients`
    std::size_t beaten_buckets = 0;
    std::size_t events = 0;  // kept for events_after(): at most event_history
  };
  // Any thread; takes each shard's lock in turn.
  [[nodiscard]] MemoryStats memory_stats() const;

 private:
  // Everything kept per id, and all of it goes with the record when the client leaves.
  struct Record {
    ClientView view;
    // Generic cell rate algorithm: the earliest time the next beat conforms to the rate limit.
    Time rate_limit_at{};
    // Its entry in the shard's deadlines: when time alone changes it next.
    Time scheduled = Time::max();
  };
  // Lets the maps be searched with a string_view, without building a std::string per lookup.
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const noexcept { return std::hash<std::string_view>{}(id); }
  };
  using ClientMap = std::unordered_map<std::string, Record, IdHash, std::equal_to<>>;
  struct Shard {
    mutable std::mutex mutex;
    ClientMap clients;  // guarded by mutex
    // Ids that beat since the last take_beaten(), each once. Invariant: a subset of the keys of
    // `clients` (a leaving client leaves this set too), so it never outgrows the shard.
    std::unordered_set<std::string, IdHash, std::equal_to<>> beaten;  // guarded by mutex
    // Every client once, by the time its state changes next (late, down, forgotten), so a tick
    // visits only the clients that are due, not all of them four times a second. The ids view
    // the map's keys, which stay put however the map rehashes.
    std::set<std::pair<Time, std::string_view>> deadlines;  // guarded by mutex
  };

  [[nodiscard]] Shard& shard_for(std::string_view id) noexcept;
  [[nodiscard]] const Shard& shard_for(std::string_view id) const noexcept;
  // The caller holds the shard's lock.
  [[nodiscard]] bool admit_rate(Record& record, Time now) const noexcept;
  void set_state(Record& record, ClientState state) noexcept;
  // When time alone changes this client next (by its state): next_due, down_at, or the end of
  // its retention.
  [[nodiscard]] Time next_transition(const ClientView& client) const noexcept;
  // (Re)files the client under next_transition(); `id` is its key in the shard's map.
  void schedule(Shard& shard, Record& record, std::string_view id) const;
  static void note_beaten(Shard& shard, const std::string& id);
  // Erases the client at `it` and everything kept for it; returns the next record.
  static ClientMap::iterator forget(Shard& shard, ClientMap::iterator it);
  // Numbers and records an event; the caller holds the lock of the shard it concerns.
  PresenceEvent append_event(EventKind kind, std::optional<ClientState> previous, LeaveReason reason,
                             const ClientView& client);

  const RegistryOptions options_;
  const std::shared_ptr<const Clock> clock_;
  const std::chrono::nanoseconds rate_emission_;   // 1 s / max_beats_per_second
  const std::chrono::nanoseconds rate_tolerance_;  // the burst allowance: (max - 1) emissions

  std::array<Shard, kShardCount> shards_;
  EventLog events_;

  // Updated under a shard lock; read lock-free for metrics, and under all locks for listings.
  std::atomic<std::size_t> client_count_{0};
  std::array<std::atomic<std::size_t>, kClientStateCount> state_counts_{};
  std::atomic<std::uint64_t> version_{0};
  std::atomic<std::uint64_t> beats_total_{0};
  std::atomic<std::uint64_t> transitions_total_{0};
  std::atomic<std::uint64_t> rate_limited_total_{0};
  std::atomic<std::uint64_t> rejected_full_total_{0};
  std::atomic<std::size_t> next_beaten_shard_{0};
};

}  // namespace pulse::presence
