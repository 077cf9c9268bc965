// Opening connections: direct, unix socket, or through Sentinel; then AUTH, SELECT and, behind
// Sentinel, ROLE.
#include "pulse/presence/redis/connector.hpp"

#include <fmt/format.h>

namespace pulse::presence::redis {
namespace {

void expect_ok(const Reply& reply, Connection& connection, std::string_view what) {
  if (reply.is_error())
    throw ConnectionError(fmt::format("redis {}: {} refused: {}", connection.peer(), what, reply.text));
}

}  // namespace

bool means_not_primary(const Reply& reply) noexcept {
  const auto code = reply.error_code();
  return code == "READONLY" || code == "LOADING" || code == "MASTERDOWN";
}

Connector::Connector(RedisUrl url, std::optional<std::string> password, std::optional<std::string> sentinel_password,
                     ConnectionTimeouts timeouts)
    : url_(std::move(url)),
      password_(url_.password ? url_.password : std::move(password)),
      sentinel_password_(std::move(sentinel_password)),
      timeouts_(timeouts) {}

Connection Connector::open() const {
  switch (url_.transport) {
    case RedisTransport::kTcp: {
      if (url_.hosts.empty()) throw ConnectionError("redis: the URL names no host");
      Connection connection = Connection::connect_tcp(url_.hosts.front().host, url_.hosts.front().port, timeouts_);
      prepare(connection, /*check_role=*/false);
      return connection;
    }
    case RedisTransport::kUnix: {
      Connection connection = Connection::connect_unix(url_.unix_path, timeouts_);
      prepare(connection, /*check_role=*/false);
      return connection;
    }
    case RedisTransport::kSentinel: return open_primary_through_sentinels();
  }
  throw ConnectionError("redis: unknown transport");
}

void Connector::prepare(Connection& connection, bool check_role) const {
  std::vector<Command> commands;
  if (password_) {
    commands.push_back(url_.username ? Command{"AUTH", *url_.username, *password_} : Command{"AUTH", *password_});
  }
  if (url_.db != 0) commands.push_back({"SELECT", fmt::format("{}", url_.db)});
  if (check_role) commands.push_back({"ROLE"});
  if (commands.empty()) return;
  const auto replies = connection.pipeline(commands);
  std::size_t next = 0;
  if (password_) expect_ok(replies[next++], connection, "AUTH");
  if (url_.db != 0) expect_ok(replies[next++], connection, fmt::format("SELECT {}", url_.db));
  if (check_role) {
    const Reply& role = replies[next];
    expect_ok(role, connection, "ROLE");
    if (role.type != Reply::Type::kArray || role.elements.empty() || role.elements.front().text != "master") {
      throw ConnectionError(
          fmt::format("redis {}: the sentinels' primary is not (or not yet) a primary", connection.peer()));
    }
  }
}

Connection Connector::open_primary_through_sentinels() const {
  std::string failures;
  for (const RedisHostPort& sentinel : url_.hosts) {
    try {
      Connection asking = Connection::connect_tcp(sentinel.host, sentinel.port, timeouts_);
      if (sentinel_password_) expect_ok(asking.command({"AUTH", *sentinel_password_}), asking, "AUTH");
      const Reply where = asking.command({"SENTINEL", "get-master-addr-by-name", url_.master_name});
      if (where.is_error()) throw ConnectionError(fmt::format("redis {}: {}", asking.peer(), where.text));
      if (where.is_nil() || where.elements.size() != 2) {
        throw ConnectionError(
            fmt::format("redis sentinel {}: does not know the master '{}'", asking.peer(), url_.master_name));
      }
      const std::string& host = where.elements[0].as_string();
      const long long port = where.elements[1].as_integer();
      if (port <= 0 || port > 65535)
        throw ConnectionError(fmt::format("redis sentinel {}: port {}", asking.peer(), port));
      Connection primary = Connection::connect_tcp(host, static_cast<std::uint16_t>(port), timeouts_);
      prepare(primary, /*check_role=*/true);
      return primary;
    } catch (const ConnectionError& error) {
      // Try the next sentinel; report all of them if none helps.
      if (!failures.empty()) failures += "; ";
      failures += error.what();
    } catch (const ProtocolError& error) {
      if (!failures.empty()) failures += "; ";
      failures += error.what();
    }
  }
  throw ConnectionError(fmt::format("no sentinel led to the primary '{}': {}", url_.master_name, failures));
}

}  // namespace pulse::presence::redis
