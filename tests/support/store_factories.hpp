// The two PresenceStores made the same way for the tests that must hold for both: the memory
// registry, and the Redis store on a redis-server this test process started (one per process,
// each store under a prefix of its own). Both run on a ManualClock.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "pulse/presence/presence_registry.hpp"
#include "pulse/presence/redis_store.hpp"
#include "support/redis_server.hpp"

namespace pulse::test {

// What both stores are configured with.
struct StorePolicy {
  std::chrono::seconds default_interval = presence::kDefaultInterval;
  std::chrono::seconds retention = presence::kDefaultRetention;
  std::size_t max_clients = presence::kDefaultMaxClients;
  unsigned max_beats_per_second = presence::kDefaultMaxBeatsPerSecond;
  std::size_t event_history = presence::kDefaultEventHistory;
  std::size_t history_length = presence::kDefaultHistoryLength;
};

// The redis-server shared by every Redis store of this process, started on first use.
inline RedisServer& shared_redis_server() {
  static RedisServer server;
  return server;
}

inline std::string unique_prefix() {
  static std::atomic<int> next{0};
  return "test" + std::to_string(::getpid()) + "-" + std::to_string(next.fetch_add(1)) + ":";
}

inline presence::RedisStoreOptions redis_options(const StorePolicy& policy,
                                                 std::shared_ptr<const presence::Clock> clock,
                                                 const RedisServer& server = shared_redis_server()) {
  presence::RedisStoreOptions options;
  options.url = server.parsed_url();
  options.prefix = unique_prefix();
  options.default_interval = policy.default_interval;
  options.retention = policy.retention;
  options.max_clients = policy.max_clients;
  options.max_beats_per_second = policy.max_beats_per_second;
  options.event_history = policy.event_history;
  options.history_length = policy.history_length;
  options.clock = std::move(clock);
  // The tests move the clock by hours between calls: that is not an outage here.
  options.outage_credit_after = std::chrono::milliseconds(0);
  return options;
}

struct MemoryStoreFactory {
  static constexpr const char* kName = "memory";
  static std::unique_ptr<presence::PresenceStore> make(const StorePolicy& policy,
                                                       std::shared_ptr<presence::ManualClock> clock) {
    presence::RegistryOptions options;
    options.default_interval = policy.default_interval;
    options.retention = policy.retention;
    options.max_clients = policy.max_clients;
    options.max_beats_per_second = policy.max_beats_per_second;
    options.event_history = policy.event_history;
    options.history_length = policy.history_length;
    return std::make_unique<presence::PresenceRegistry>(options, std::move(clock));
  }
};

struct RedisStoreFactory {
  static constexpr const char* kName = "redis";
  static std::unique_ptr<presence::PresenceStore> make(const StorePolicy& policy,
                                                       std::shared_ptr<presence::ManualClock> clock) {
    return std::make_unique<presence::RedisStore>(redis_options(policy, std::move(clock)));
  }
};

}  // namespace pulse::test
