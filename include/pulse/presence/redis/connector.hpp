// Connector: opens a ready connection to the Redis primary the URL names: connected, AUTH'd,
// on the right database. With Sentinel it asks each sentinel in turn where the primary is and
// checks (ROLE) that it really is one, so after a failover the next connection goes to the new one.
//
// Thread-safe (it holds only constant configuration): the pool and the follower share one.
#pragma once

#include <optional>
#include <string>

#include "pulse/presence/redis/connection.hpp"
#include "pulse/presence/redis_url.hpp"

namespace pulse::presence::redis {

class Connector {
 public:
  // `password` is used when the URL carries none. `sentinel_password`, when set, is sent to
  // the sentinels (which have their own requirepass).
  Connector(RedisUrl url, std::optional<std::string> password, std::optional<std::string> sentinel_password,
            ConnectionTimeouts timeouts);

  // Throws ConnectionError: no sentinel knows the primary, the primary is not one (yet), refused,
  // timed out, or AUTH/SELECT failed.
  [[nodiscard]] Connection open() const;

  [[nodiscard]] const RedisUrl& url() const noexcept { return url_; }
  [[nodiscard]] const ConnectionTimeouts& timeouts() const noexcept { return timeouts_; }

 private:
  [[nodiscard]] Connection open_primary_through_sentinels() const;
  void prepare(Connection& connection, bool check_role) const;

  const RedisUrl url_;
  const std::optional<std::string> password_;
  const std::optional<std::string> sentinel_password_;
  const ConnectionTimeouts timeouts_;
};

// True for the error replies that mean "this server cannot take writes now": a replica
// (READONLY), a server loading its data (LOADING), or a replica that lost its primary
// (MASTERDOWN). The connection is dropped and the primary found again.
[[nodiscard]] bool means_not_primary(const Reply& reply) noexcept;

}  // namespace pulse::presence::redis
