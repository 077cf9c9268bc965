// The follower's loop: connect, verify the mirror, XREAD BLOCK from the mirror's end, absorb,
// tell the store; on failure back off and start again.
#include "pulse/presence/redis/event_follower.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pulse/base/log.hpp"

namespace pulse::presence::redis {
namespace {

constexpr base::LogContext kFollowing{.action = "following the Redis event stream"};

}  // namespace

EventFollower::EventFollower(const Connector& connector, EventMirror& mirror, std::function<void()> on_new_events)
    : connector_(connector), mirror_(mirror), on_new_events_(std::move(on_new_events)) {}

EventFollower::~EventFollower() {
  stop();
}

void EventFollower::start(std::optional<Connection> connection) {
  thread_ = std::thread([this, connection = std::move(connection)]() mutable { run(std::move(connection)); });
}

void EventFollower::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (active_ != nullptr) active_->wake();
  }
  stop_requested_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool EventFollower::wait_until(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mutex_);
  return !stop_requested_.wait_until(lock, until, [this] { return stopping_; });
}

void EventFollower::publish_connection(Connection* connection) {
  std::lock_guard lock(mutex_);
  active_ = connection;
  // A stop() that came before the connection was published could not wake it: do it now.
  if (stopping_ && connection != nullptr) connection->wake();
}

void EventFollower::run(std::optional<Connection> connection) {
  Backoff backoff;
  bool logged_failure = false;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    try {
      if (!connection) {
        connection = connector_.open();
        // The command timeout must outlast the blocking read.
        connection->set_command_timeout(kFollowBlock + connector_.timeouts().command);
        publish_connection(&*connection);
        if (mirror_.verify_or_prime(*connection) && on_new_events_) on_new_events_();
        if (logged_failure) base::log_info(kFollowing, "following {} again", connection->peer());
        logged_failure = false;
      } else if (!following_) {
        connection->set_command_timeout(kFollowBlock + connector_.timeouts().command);
        publish_connection(&*connection);
      }
      following_ = true;
      backoff.reset();
      follow_once(*connection);
    } catch (const std::exception& error) {
      following_ = false;
      publish_connection(nullptr);
      connection.reset();
      {
        std::lock_guard lock(mutex_);
        if (stopping_) break;
      }
      if (!logged_failure) base::log_warning(kFollowing, "{}", error.what());
      logged_failure = true;
      if (!wait_until(std::chrono::steady_clock::now() + backoff.next())) break;
    }
  }
  following_ = false;
  publish_connection(nullptr);
}

void EventFollower::follow_once(Connection& connection) {
  const std::uint64_t cursor = mirror_.last_sequence();
  const Reply reply = connection.command({"XREAD", "BLOCK", fmt::format("{}", kFollowBlock.count()), "COUNT",
                                          fmt::format("{}", kFollowBatch), "STREAMS", mirror_.stream_key(),
                                          fmt::format("{}-0", cursor)});
  if (reply.is_error()) throw ConnectionError(fmt::format("redis {}: XREAD: {}", connection.peer(), reply.text));
  if (reply.is_nil()) {
    // A quiet second: make sure the stream did not go backwards (a failover that lost writes).
    const long long redis_last = connection.command({"GET", mirror_.sequence_key()}).as_integer(0);
    if (mirror_.catch_up(connection, cursor, static_cast<std::uint64_t>(std::max(redis_last, 0LL)), {}) &&
        on_new_events_) {
      on_new_events_();
    }
    return;
  }
  // [[stream key, [entries...]]]: one stream asked, one answered.
  const auto& streams = reply.as_array();
  if (streams.empty()) return;
  const auto& pair = streams.front().as_array();
  if (pair.size() != 2) throw ProtocolError("redis: an XREAD reply that is not [key, entries]");
  if (mirror_.absorb_stream(EventMirror::decode_entries(pair[1])) && on_new_events_) on_new_events_();
}

}  // namespace pulse::presence::redis
