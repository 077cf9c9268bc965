// EventFollower: the thread that follows the Redis event stream on a connection of its own
// (XREAD BLOCK), so that every replica's watchers hear of every replica's changes.
//
// It feeds the EventMirror and calls `on_new_events` when the mirror changed. After each
// reconnection it checks that the stream still continues the mirror (verify_or_prime). stop()
// ends it within a moment: it wakes the blocked read by shutting its socket down.
//
// Thread affinity: start() and stop() from the owner's thread; the rest runs on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "pulse/presence/redis/backoff.hpp"
#include "pulse/presence/redis/connection.hpp"
#include "pulse/presence/redis/connector.hpp"
#include "pulse/presence/redis/event_mirror.hpp"

namespace pulse::presence::redis {

// How long one XREAD waits for news before the follower looks around (and notices stop()).
inline constexpr std::chrono::milliseconds kFollowBlock{1000};
// Entries read at most per XREAD.
inline constexpr std::size_t kFollowBatch = 1000;

class EventFollower {
 public:
  EventFollower(const Connector& connector, EventMirror& mirror, std::function<void()> on_new_events);
  EventFollower(const EventFollower&) = delete;
  EventFollower& operator=(const EventFollower&) = delete;
  ~EventFollower();

  // `connection`, when given, is already verified (the store primed the mirror on it).
  void start(std::optional<Connection> connection);
  void stop();

  // Whether the follower is connected and reading: for health's detail.
  [[nodiscard]] bool following() const noexcept { return following_.load(std::memory_order_relaxed); }

 private:
  void run(std::optional<Connection> connection);
  // One XREAD and what follows from it. Throws ConnectionError.
  void follow_once(Connection& connection);
  // Sleeps until `until` or stop(); false when stopping.
  bool wait_until(std::chrono::steady_clock::time_point until);
  void publish_connection(Connection* connection);

  const Connector& connector_;
  EventMirror& mirror_;
  const std::function<void()> on_new_events_;

  std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;         // guarded by mutex_
  Connection* active_ = nullptr;  // guarded by mutex_: the connection to wake on stop()
  std::atomic<bool> following_{false};
  std::thread thread_;
};

}  // namespace pulse::presence::redis
