// RedisStore: the PresenceStore that several pulsehttpd replicas share through one Redis, so
// that they behave as one server: the same clients, states, events and counters everywhere.
//
// How it holds (see docs/ARCHITECTURE.md, "The Redis store"):
// - Every change is one Lua script (EVALSHA; reloaded on NOSCRIPT), so it is atomic. The
//   scripts mirror PresenceRegistry exactly: the GCRA rate limit, the client maximum and the
//   retention are enforced over the whole cluster.
// - Time-driven transitions come from a sorted set of deadlines that every replica's tick()
//   sweeps; a script reads a record's state before writing it (compare-and-set), so each
//   transition happens, and is announced, exactly once however many replicas sweep.
// - Events are entries of a capped Redis Stream, numbered by one counter: a follower thread per
//   store reads the stream (XREAD BLOCK on its own connection) into a local mirror, from which
//   events_after() answers; the SSE id is the stream's sequence, so a watcher resumes on any
//   replica.
// - Time: every script is given `now` by the caller's clock. The default clock is Redis's own,
//   as seen from here (redis/synced_clock.hpp): the local monotonic clock plus an offset learned
//   from TIME on each connection and at each tick. Replicas then agree within half a round trip
//   plus the drift between syncs (well under a millisecond on a LAN). Times are whole
//   microseconds.
// - Issue 11: one beat script handles every Signal. A paused client is taken out of the deadline
//   and expiry sets, so no replica's sweep can make it late or forget it. The last log is kept in
//   a hash of its own ({prefix}logs) and each client's history in a list {prefix}history:<id>
//   (RPUSH, LTRIM to history_length), both deleted with the client (remove, expiry): records,
//   and so listings, events and exports, never carry them; detail() reads record, log and
//   history in one MULTI/EXEC.
// - Outage credit: a script that finds no write for longer than `outage_credit_after` (Redis or
//   every replica was away) first moves every client that was not down on by the gap, so no one
//   is declared down for the time nobody could hear it. One SET, however many clients: records
//   are read moved on by the credit earned since they were written.
//   Held and released clients are online clients like any other here: the holding replica
//   could not refresh a held one meanwhile, so its hold deadline moves on by the gap too.
//
// Calls block the calling thread (may_block() is true) on a small pool of connections. When
// Redis cannot be reached a call throws StoreUnavailable; the pool then backs off (100 ms
// doubling to 5 s, jittered), refusing calls at once meanwhile, and health() says not ready.
// now(), events_after(), last_sequence(), version(), counters() and health() never block: they
// answer from what the last calls and ticks learned (counters are the cluster's, from Redis).
//
// Every replica must be given the same policy options and prefix. Thread-safe.
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
#include <string>
#include <vector>

#include "pulse/presence/clock.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/presence_store.hpp"
#include "pulse/presence/redis/scripts.hpp"
#include "pulse/presence/redis_url.hpp"

namespace pulse::presence {

namespace redis {
class Connection;
class ConnectionPool;
class Connector;
class EventFollower;
class EventMirror;
class SyncedClock;
struct Reply;
}  // namespace redis

inline constexpr std::string_view kDefaultRedisPrefix = "pulse:";
inline constexpr std::chrono::milliseconds kDefaultRedisConnectTimeout{1000};
inline constexpr std::chrono::milliseconds kDefaultRedisCommandTimeout{2000};
// WAIT's own timeout: under the command timeout, so a missing replica is a 503, not a dead link.
inline constexpr std::chrono::milliseconds kDefaultRedisWaitTimeout{1000};
inline constexpr std::size_t kDefaultRedisPoolSize = 8;
// Several sweep periods (250 ms) without any write: the cluster, or Redis, was away.
inline constexpr std::chrono::milliseconds kDefaultOutageCreditAfter{3000};
// Due clients handled per sweep script, so one script never holds Redis for long.
inline constexpr std::size_t kDefaultSweepBatch = 1000;

struct RedisStoreOptions {
  RedisUrl url;
  std::optional<std::string> password;           // when the URL has none (PULSE_REDIS_PASSWORD)
  std::optional<std::string> sentinel_password;  // for sentinels with their own requirepass
  std::string prefix = std::string(kDefaultRedisPrefix);

  // The policy, as in RegistryOptions; cluster-wide, so every replica must agree on it.
  std::chrono::seconds default_interval = kDefaultInterval;
  std::chrono::seconds retention = kDefaultRetention;
  std::size_t max_clients = kDefaultMaxClients;
  unsigned max_beats_per_second = kDefaultMaxBeatsPerSecond;  // per id; 0 disables the limit
  std::size_t event_history = kDefaultEventHistory;           // the stream's MAXLEN ~, and the local mirror
  // State changes and runs kept per client (detail().history); 0 keeps none.
  std::size_t history_length = kDefaultHistoryLength;

  // Durability: after each write, WAIT until this many replicas have it (at most wait_timeout);
  // fewer is a StoreUnavailable (a 503, which the client retries). With 1, an acknowledged beat
  // survives a failover. 0: acknowledge once the primary has it.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout = kDefaultRedisWaitTimeout;

  std::chrono::milliseconds connect_timeout = kDefaultRedisConnectTimeout;
  std::chrono::milliseconds command_timeout = kDefaultRedisCommandTimeout;
  std::size_t pool_size = kDefaultRedisPoolSize;
  // Zero turns the outage credit off (tests that move a ManualClock by hours between calls).
  std::chrono::milliseconds outage_credit_after = kDefaultOutageCreditAfter;
  std::size_t sweep_batch = kDefaultSweepBatch;
  // Null: Redis's clock (SyncedClock). Tests pass a ManualClock shared by their "replicas".
  std::shared_ptr<const Clock> clock;
};

class RedisStore final : public PresenceStore {
 public:
  // Never throws for want of Redis: a store made while Redis is away starts not ready and
  // connects when it can. Throws std::invalid_argument for options that cannot work.
  explicit RedisStore(RedisStoreOptions options);
  ~RedisStore() override;

  [[nodiscard]] Time now() const override;
  [[nodiscard]] bool may_block() const noexcept override { return true; }
  [[nodiscard]] StoreHealth health() const override;
  void set_event_listener(std::function<void()> listener) override;

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
  // Exact across replicas: clients are taken in the order of the version their last beat made.
  // Calls are serialised (one cursor per store).
  [[nodiscard]] std::vector<ClientView> take_beaten(std::size_t max) override;
  [[nodiscard]] std::vector<ClientView> export_clients() const override;
  std::size_t restore(const std::vector<ClientView>& clients) override;

  [[nodiscard]] const RedisStoreOptions& options() const noexcept { return options_; }
  // The key names, for tests and operators: "{prefix}clients", ...
  [[nodiscard]] std::string key(std::string_view name) const { return options_.prefix + std::string(name); }

 private:
  struct Status {
    std::uint64_t version = 0;
    std::uint64_t sequence = 0;
    StoreCounters counters;
  };

  [[nodiscard]] redis::Connection open_connection();
  void load_scripts(redis::Connection& connection) const;
  void sync_clock(redis::Connection& connection);
  // Runs `work` on a pooled connection; turns a lost connection into StoreUnavailable.
  template <typename Work>
  auto with_connection(std::string_view action, Work&& work) const;
  // EVALSHA with the keys and the common arguments; WAITs after scripts that write.
  redis::Reply run_script(redis::Connection& connection, redis::Script script, const std::vector<std::string>& args,
                          bool writes) const;
  [[nodiscard]] std::int64_t now_micros() const;
  // Caches a reply's status; returns it.
  Status learn_status(const redis::Reply& status) const;
  // Brings the mirror up to the reply's sequence; tells the listener when it changed.
  void learn_events(redis::Connection& connection, std::uint64_t seen_before, const Status& status,
                    const redis::Reply* produced) const;
  void notify_listener() const;

  const RedisStoreOptions options_;
  const std::vector<std::string> keys_;               // KEYS of every script, in common.lua's order
  std::shared_ptr<redis::SyncedClock> synced_clock_;  // null when options_.clock was given
  std::shared_ptr<const Clock> clock_;
  const std::int64_t rate_emission_us_;   // 1 s / max_beats_per_second
  const std::int64_t rate_tolerance_us_;  // (max - 1) emissions: the burst

  std::unique_ptr<redis::Connector> connector_;
  std::unique_ptr<redis::ConnectionPool> pool_;
  std::unique_ptr<redis::EventMirror> mirror_;
  std::unique_ptr<redis::EventFollower> follower_;

  mutable std::mutex scripts_mutex_;
  mutable std::array<std::string, redis::kScriptCount> shas_;  // guarded by scripts_mutex_: learned from SCRIPT LOAD

  mutable std::mutex status_mutex_;
  mutable Status status_;  // guarded by status_mutex_: the newest status any reply carried
  mutable std::atomic<std::uint64_t> errors_total_{0};

  std::mutex beaten_mutex_;                     // held through take_beaten()
  std::optional<std::uint64_t> beaten_cursor_;  // guarded by beaten_mutex_

  mutable std::mutex listener_mutex_;  // held while listener_ runs: it must not call back into the store
  std::function<void()> listener_;     // guarded by listener_mutex_
};

}  // namespace pulse::presence
