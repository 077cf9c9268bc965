// ConnectionPool: a few connections to Redis shared by the threads that call the store (the
// service's store threads and its sweeper), and the back-off that keeps a missing Redis cheap.
//
// A connection that fails is dropped with every idle one (they lead to the same server), and
// the pool backs off: until the wait is over every acquire() throws StoreUnavailable at once, so
// callers answer 503 fast instead of each waiting for a timeout. Then one caller probes (opens a
// connection); success makes the pool ready again, failure doubles the wait (100 ms to 5 s,
// jittered).
//
// Thread-safe: any thread may acquire; a Lease belongs to the thread that acquired it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/presence/redis/backoff.hpp"
#include "pulse/presence/redis/connection.hpp"

namespace pulse::presence::redis {

enum class PoolState : std::uint8_t {
  kFresh,       // nothing tried yet: the first acquire() connects
  kReady,       // the last attempt worked
  kBackingOff,  // a connection failed: acquire() refuses until retry_at
  kProbing,     // the wait is over and one caller is connecting; the others still refuse
};
[[nodiscard]] std::string_view to_string(PoolState state) noexcept;

class ConnectionPool {
 public:
  // Opens a ready connection or throws ConnectionError.
  using Open = std::function<Connection()>;

  ConnectionPool(std::size_t capacity, Open open, std::chrono::milliseconds wait_for_idle, Backoff backoff = Backoff());
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ~ConnectionPool();

  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    [[nodiscard]] Connection& operator*() noexcept { return *connection_; }
    [[nodiscard]] Connection* operator->() noexcept { return &*connection_; }
    // The connection must not be reused (it answered as a replica would): it is closed on return.
    void discard() noexcept { discard_ = true; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool& pool, Connection connection, std::uint64_t generation);
    ConnectionPool* pool_;
    std::optional<Connection> connection_;
    std::uint64_t generation_;
    bool discard_ = false;
  };

  // Throws StoreUnavailable while backing off, when connecting fails, or when every connection
  // stays busy for wait_for_idle.
  [[nodiscard]] Lease acquire();
  // A call through a lease failed for want of Redis (`why` is said in health and in 503s).
  void report_failure(const std::string& why);

  struct Status {
    PoolState state = PoolState::kFresh;
    std::string detail;  // the last failure, while not ready
  };
  [[nodiscard]] Status status() const;
  // Connections open now (idle or leased): at most the capacity.
  [[nodiscard]] std::size_t open_connections() const;

 private:
  void give_back(std::optional<Connection> connection, std::uint64_t generation, bool discard) noexcept;
  // With mutex_ held.
  void fail_locked(const std::string& why);
  [[nodiscard]] Lease open_new(std::unique_lock<std::mutex>& lock, bool probing);

  const std::size_t capacity_;
  const Open open_;
  const std::chrono::milliseconds wait_for_idle_;

  mutable std::mutex mutex_;
  std::condition_variable idle_available_;
  std::vector<Connection> idle_;                      // guarded by mutex_
  std::size_t open_count_ = 0;                        // guarded by mutex_: idle + leased + being opened
  std::uint64_t generation_ = 0;                      // guarded by mutex_: bumped by each failure
  PoolState state_ = PoolState::kFresh;               // guarded by mutex_
  std::string detail_;                                // guarded by mutex_
  std::chrono::steady_clock::time_point retry_at_{};  // guarded by mutex_
  Backoff backoff_;                                   // guarded by mutex_
};

}  // namespace pulse::presence::redis
