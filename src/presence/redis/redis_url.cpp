// The --presence URL grammar for Redis: a hand-written parser, because each mistake deserves its
// own sentence and a password must never be echoed back.
#include "pulse/presence/redis_url.hpp"

#include <fmt/format.h>

#include <limits>

#include "pulse/base/parse.hpp"

namespace pulse::presence {
namespace {

constexpr std::string_view kTcpScheme = "redis://";
constexpr std::string_view kUnixScheme = "unix://";
constexpr std::string_view kSentinelScheme = "redis+sentinel://";

[[noreturn]] void fail(std::string message) {
  throw RedisUrlError(std::move(message));
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `what` names the part ("the password") for the error; the text itself is never quoted.
std::string percent_decode(std::string_view text, std::string_view what) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    const bool complete = i + 2 < text.size();
    const int high = complete ? hex_value(text[i + 1]) : -1;
    const int low = complete ? hex_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      fail(fmt::format("{} has a '%' that is not followed by two hex digits (write a literal '%' as %25)", what));
    }
    decoded += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return decoded;
}

// "[USER]:PASSWORD" (or "USER" alone, which Redis cannot use without a password).
void parse_userinfo(std::string_view userinfo, RedisUrl& url) {
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) {
    fail(
        fmt::format("the part before '@' names a user but no password: write [USER]:PASSWORD@ "
                    "(an empty user means the default one)"));
  }
  const std::string_view user = userinfo.substr(0, colon);
  const std::string_view password = userinfo.substr(colon + 1);
  if (password.empty()) fail("the password before '@' is empty: leave out the whole ':PASSWORD@' part instead");
  if (!user.empty()) url.username = percent_decode(user, "the user name");
  url.password = percent_decode(password, "the password");
}

std::uint16_t parse_port(std::string_view text, std::string_view host) {
  const auto port = base::parse_decimal<unsigned>(text);
  if (!port || *port == 0 || *port > std::numeric_limits<std::uint16_t>::max()) {
    fail(fmt::format("the port of {} is '{}'; it must be a number from 1 to 65535", host, text));
  }
  return static_cast<std::uint16_t>(*port);
}

bool valid_host_name(std::string_view host) noexcept {
  for (const char c : host) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// "HOST[:PORT]" or "[IPV6][:PORT]".
RedisHostPort parse_host_port(std::string_view text, std::uint16_t default_port) {
  if (text.empty()) fail("a host is missing: write HOST or HOST:PORT");
  RedisHostPort result;
  result.port = default_port;
  std::string_view rest;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      fail(fmt::format("'{}' opens an IPv6 address with '[' but never closes it", text));
    result.host = std::string(text.substr(1, close - 1));
    if (result.host.empty()) fail("the IPv6 address between '[' and ']' is empty");
    for (const char c : result.host) {
      if (hex_value(c) < 0 && c != ':' && c != '.') {
        fail(fmt::format("'{}' is not an IPv6 address", result.host));
      }
    }
    rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') fail(fmt::format("'{}' has text after ']' that is not ':PORT'", text));
  } else {
    const auto colon = text.find(':');
    result.host = std::string(text.substr(0, colon));
    if (result.host.empty()) fail(fmt::format("'{}' has a port but no host", text));
    if (!valid_host_name(result.host)) {
      fail(fmt::format("'{}' is not a host name or address (IPv6 addresses go in brackets: [::1]:6379)", result.host));
    }
    if (colon != std::string_view::npos) rest = text.substr(colon);
  }
  if (!rest.empty()) result.port = parse_port(rest.substr(1), result.host);
  return result;
}

unsigned parse_db(std::string_view text) {
  const auto db = base::parse_decimal<unsigned>(text);
  if (!db || *db > static_cast<unsigned>(std::numeric_limits<int>::max())) {
    fail(fmt::format("the database is '{}'; it must be a number (0 to 2147483647)", text));
  }
  return *db;
}

// Splits "[USERINFO@]REST" at the last '@' before the first '/', so a password may hold '@' when
// it is percent-encoded (%40) and a path never confuses it.
std::string_view take_userinfo(std::string_view after_scheme, RedisUrl& url) {
  const auto slash = after_scheme.find('/');
  const std::string_view authority = after_scheme.substr(0, slash);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return after_scheme;
  parse_userinfo(authority.substr(0, at), url);
  return after_scheme.substr(at + 1);
}

void parse_tcp(std::string_view rest, RedisUrl& url) {
  rest = take_userinfo(rest, url);
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (authority.find(',') != std::string_view::npos) {
    fail("redis:// takes one host; for several sentinels use redis+sentinel://HOST:PORT,HOST:PORT/MASTER");
  }
  url.hosts.push_back(parse_host_port(authority, kDefaultRedisPort));
  if (slash == std::string_view::npos) return;
  const std::string_view path = rest.substr(slash + 1);
  if (path.empty()) return;  // "redis://host/" is database 0
  url.db = parse_db(path);
}

void parse_unix(std::string_view rest, RedisUrl& url) {
  // unix://[USERINFO@]/PATH: the userinfo, if any, ends at the '@' just before the path's '/'.
  if (!rest.starts_with('/')) {
    const auto at = rest.find("@/");
    if (at == std::string_view::npos) {
      fail("unix:// needs an absolute path: unix:///run/redis/redis.sock (three slashes)");
    }
    parse_userinfo(rest.substr(0, at), url);
    rest = rest.substr(at + 1);
  }
  const auto query = rest.find('?');
  url.unix_path = std::string(rest.substr(0, query));
  if (url.unix_path.size() < 2) fail("unix:// needs a path after the slash: unix:///run/redis/redis.sock");
  if (query == std::string_view::npos) return;
  const std::string_view parameters = rest.substr(query + 1);
  if (!parameters.starts_with("db=") || parameters.find('&') != std::string_view::npos) {
    fail(fmt::format("unix:// takes one parameter, ?db=N; '{}' is not it", parameters));
  }
  url.db = parse_db(parameters.substr(3));
}

void parse_sentinel(std::string_view rest, RedisUrl& url) {
  rest = take_userinfo(rest, url);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    fail("redis+sentinel:// needs the master's name after the hosts: redis+sentinel://HOST:26379/mymaster");
  }
  std::string_view hosts = rest.substr(0, slash);
  if (hosts.empty()) fail("redis+sentinel:// needs at least one sentinel: redis+sentinel://HOST:26379/mymaster");
  while (true) {
    const auto comma = hosts.find(',');
    url.hosts.push_back(parse_host_port(hosts.substr(0, comma), kDefaultSentinelPort));
    if (comma == std::string_view::npos) break;
    hosts = hosts.substr(comma + 1);
  }
  std::string_view path = rest.substr(slash + 1);
  const auto db_slash = path.find('/');
  url.master_name = std::string(path.substr(0, db_slash));
  if (url.master_name.empty()) fail("redis+sentinel:// needs the master's name after the hosts: .../mymaster");
  if (!valid_host_name(url.master_name)) {
    fail(fmt::format("the master name '{}' may hold only A-Z a-z 0-9 . _ -", url.master_name));
  }
  if (db_slash != std::string_view::npos && db_slash + 1 < path.size()) url.db = parse_db(path.substr(db_slash + 1));
}

std::string host_text(const RedisHostPort& host) {
  const bool ipv6 = host.host.find(':') != std::string::npos;
  return ipv6 ? fmt::format("[{}]:{}", host.host, host.port) : fmt::format("{}:{}", host.host, host.port);
}

}  // namespace

std::string_view to_string(RedisTransport transport) noexcept {
  switch (transport) {
    case RedisTransport::kTcp: return "tcp";
    case RedisTransport::kUnix: return "unix";
    case RedisTransport::kSentinel: return "sentinel";
  }
  return "unknown";
}

RedisUrl parse_redis_url(std::string_view text) {
  RedisUrl url;
  if (text.starts_with(kTcpScheme)) {
    url.transport = RedisTransport::kTcp;
    parse_tcp(text.substr(kTcpScheme.size()), url);
  } else if (text.starts_with(kUnixScheme)) {
    url.transport = RedisTransport::kUnix;
    parse_unix(text.substr(kUnixScheme.size()), url);
  } else if (text.starts_with(kSentinelScheme)) {
    url.transport = RedisTransport::kSentinel;
    parse_sentinel(text.substr(kSentinelScheme.size()), url);
  } else if (text.starts_with("rediss://")) {
    fail("rediss:// (TLS) is not supported: use redis:// on a trusted network, or a unix:// socket");
  } else {
    fail("a Redis URL starts with redis://, unix:// or redis+sentinel://");
  }
  return url;
}

std::string RedisUrl::redacted() const {
  std::string userinfo;
  if (password) userinfo = fmt::format("{}:***@", username.value_or(""));
  switch (transport) {
    case RedisTransport::kTcp: {
      const std::string host = hosts.empty() ? std::string() : host_text(hosts.front());
      return fmt::format("redis://{}{}/{}", userinfo, host, db);
    }
    case RedisTransport::kUnix: return fmt::format("unix://{}{}?db={}", userinfo, unix_path, db);
    case RedisTransport::kSentinel: {
      std::string joined;
      for (const auto& host : hosts) {
        if (!joined.empty()) joined += ',';
        joined += host_text(host);
      }
      return fmt::format("redis+sentinel://{}{}/{}/{}", userinfo, joined, master_name, db);
    }
  }
  return "redis://?";
}

}  // namespace pulse::presence
