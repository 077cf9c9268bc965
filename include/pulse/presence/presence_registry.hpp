// PresenceRegistry: the embedded PresenceStore. Clients live in kShardCount shards, each an
// unordered_map behind its own mutex, so beats from many workers rarely contend. A client costs
// well under 512 bytes with a full history (bench/client_memory.cpp measures it).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "pulse/presence/clock.hpp"
#include "pulse/presence/compact_string.hpp"
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
  // State changes and runs kept per client (detail().history); 0 keeps none; at most
  // kMaxHistoryLength (more is cut to that).
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
    std::size_t clients = 0;          // records
    std::size_t client_buckets = 0;   // hash buckets behind them (never shrink: the peak count)
    std::size_t beaten = 0;           // clients queued for take_beaten(): at most `clients`
    std::size_t scheduled = 0;        // clients in the deadline index: all but the paused ones
    std::size_t history_entries = 0;  // kept, over all clients
    std::size_t history_slots = 0;    // allocated for them (a ring grows by doubling)
    std::size_t with_extras = 0;      // clients holding open runs or a log
    std::size_t events = 0;           // kept for events_after(): at most event_history
  };
  // Any thread; takes each shard's lock in turn.
  [[nodiscard]] MemoryStats memory_stats() const;

 private:
  // Everything kept per client, packed (see the .cpp); all of it goes when the client leaves.
  struct Record;
  struct Shard;
  using Entry = std::pair<const CompactString, Record>;

  [[nodiscard]] Shard& shard_for(std::string_view id) noexcept;
  [[nodiscard]] const Shard& shard_for(std::string_view id) const noexcept;
  // The caller holds the lock of the shard of every Entry passed below.
  [[nodiscard]] bool admit_rate(Record& record, Time now) const noexcept;
  BeatResult record_beat(const BeatRequest& request);
  BeatResult record_signal(const BeatRequest& request);
  // Moves the client to `state`, counting and recording the change (an event, a history entry).
  PresenceEvent change_state(Entry& entry, ClientState state, Time now);
  void add_history(Record& record, const HistoryEntry& entry) const;
  // When time alone changes this client next (by its state): next_due, down_at, or the end of
  // its retention; Time::max() for never (paused).
  [[nodiscard]] Time next_transition(const Record& record) const noexcept;
  // (Re)files the client under next_transition().
  void schedule(Shard& shard, Entry& entry) const;
  [[nodiscard]] ClientView view_of(const Entry& entry) const;
  // Numbers and records an event.
  PresenceEvent append_event(EventKind kind, std::optional<ClientState> previous, LeaveReason reason,
                             const ClientView& client);

  const RegistryOptions options_;
  const std::shared_ptr<const Clock> clock_;
  const std::chrono::nanoseconds rate_emission_;   // 1 s / max_beats_per_second
  const std::chrono::nanoseconds rate_tolerance_;  // the burst allowance: (max - 1) emissions

  const std::unique_ptr<Shard[]> shards_;  // kShardCount
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
