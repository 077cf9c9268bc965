// The pool's one state machine: kFresh -> kReady <-> kBackingOff -> kProbing -> kReady or back.
#include "pulse/presence/redis/connection_pool.hpp"

#include <fmt/format.h>

#include "pulse/presence/presence_store.hpp"

namespace pulse::presence::redis {

std::string_view to_string(PoolState state) noexcept {
  switch (state) {
    case PoolState::kFresh: return "fresh";
    case PoolState::kReady: return "ready";
    case PoolState::kBackingOff: return "backing_off";
    case PoolState::kProbing: return "probing";
  }
  return "unknown";
}

ConnectionPool::ConnectionPool(std::size_t capacity, Open open, std::chrono::milliseconds wait_for_idle,
                               Backoff backoff)
    : capacity_(capacity == 0 ? 1 : capacity),
      open_(std::move(open)),
      wait_for_idle_(wait_for_idle),
      backoff_(std::move(backoff)) {}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease::Lease(ConnectionPool& pool, Connection connection, std::uint64_t generation)
    : pool_(&pool), connection_(std::move(connection)), generation_(generation) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_),
      connection_(std::move(other.connection_)),
      generation_(other.generation_),
      discard_(other.discard_) {
  other.pool_ = nullptr;
  other.connection_.reset();
}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->give_back(std::move(connection_), generation_, discard_);
}

ConnectionPool::Lease ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  while (true) {
    switch (state_) {
      case PoolState::kBackingOff: {
        const auto now = std::chrono::steady_clock::now();
        if (now < retry_at_) {
          const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now);
          throw StoreUnavailable(fmt::format("{} (next attempt in {} ms)", detail_, wait.count()));
        }
        state_ = PoolState::kProbing;
        return open_new(lock, /*probing=*/true);
      }
      case PoolState::kProbing: throw StoreUnavailable(fmt::format("{} (reconnecting)", detail_));
      case PoolState::kFresh:
      case PoolState::kReady:
        if (!idle_.empty()) {
          Connection connection = std::move(idle_.back());
          idle_.pop_back();
          return Lease(*this, std::move(connection), generation_);
        }
        if (open_count_ < capacity_) return open_new(lock, /*probing=*/false);
        if (!idle_available_.wait_for(lock, wait_for_idle_, [this] {
              return !idle_.empty() || open_count_ < capacity_ || state_ == PoolState::kBackingOff;
            })) {
          throw StoreUnavailable(
              fmt::format("all {} connections to Redis stayed busy for {} ms", capacity_, wait_for_idle_.count()));
        }
        break;  // look again: a connection came back, a slot freed, or the pool failed meanwhile
    }
  }
}

ConnectionPool::Lease ConnectionPool::open_new(std::unique_lock<std::mutex>& lock, bool probing) {
  ++open_count_;
  const std::uint64_t generation = generation_;
  lock.unlock();
  try {
    Connection connection = open_();
    lock.lock();
    if (probing || state_ == PoolState::kFresh) {
      state_ = PoolState::kReady;
      backoff_.reset();
      detail_.clear();
    }
    return Lease(*this, std::move(connection), generation);
  } catch (const ConnectionError& error) {
    lock.lock();
    --open_count_;
    if (probing) state_ = PoolState::kReady;  // so that fail_locked() counts this failure
    fail_locked(error.what());
    idle_available_.notify_all();
    throw StoreUnavailable(error.what());
  }
}

void ConnectionPool::report_failure(const std::string& why) {
  std::lock_guard lock(mutex_);
  fail_locked(why);
  idle_available_.notify_all();
}

void ConnectionPool::fail_locked(const std::string& why) {
  detail_ = why;
  // Idle connections go to the same (lost) server; leased ones are dropped when they come back.
  ++generation_;
  open_count_ -= idle_.size();
  idle_.clear();
  // Several connections failing together are one failure: the wait grows once.
  if (state_ == PoolState::kBackingOff) return;
  state_ = PoolState::kBackingOff;
  retry_at_ = std::chrono::steady_clock::now() + backoff_.next();
}

void ConnectionPool::give_back(std::optional<Connection> connection, std::uint64_t generation, bool discard) noexcept {
  std::lock_guard lock(mutex_);
  if (connection && !connection->broken() && !discard && generation == generation_) {
    idle_.push_back(std::move(*connection));
  } else {
    --open_count_;
  }
  idle_available_.notify_one();
}

ConnectionPool::Status ConnectionPool::status() const {
  std::lock_guard lock(mutex_);
  return {state_, detail_};
}

std::size_t ConnectionPool::open_connections() const {
  std::lock_guard lock(mutex_);
  return open_count_;
}

}  // namespace pulse::presence::redis
