// RedisUrl: where the Redis store finds its server, parsed from --presence. A refused URL comes
// with one sentence saying what is wrong, for the command line to print before it exits 2.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::presence {

inline constexpr std::uint16_t kDefaultRedisPort = 6379;
inline constexpr std::uint16_t kDefaultSentinelPort = 26379;

enum class RedisTransport : std::uint8_t {
  kTcp,       // redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
  kUnix,      // unix://[[USER]:PASSWORD@]/PATH[?db=DB]
  kSentinel,  // redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB]
};
[[nodiscard]] std::string_view to_string(RedisTransport transport) noexcept;

struct RedisHostPort {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without its brackets
  std::uint16_t port = kDefaultRedisPort;

  friend bool operator==(const RedisHostPort&, const RedisHostPort&) = default;
};

struct RedisUrl {
  RedisTransport transport = RedisTransport::kTcp;
  // kTcp: the one server. kSentinel: the sentinels, asked in this order.
  std::vector<RedisHostPort> hosts;
  std::string unix_path;    // kUnix: an absolute path
  std::string master_name;  // kSentinel: the name the sentinels monitor
  unsigned db = 0;          // SELECT after connecting
  // Percent-decoded. With a password and no user, AUTH PASSWORD; with both, AUTH USER PASSWORD
  // (an ACL user). The password given in the URL wins over RedisStoreOptions::password.
  std::optional<std::string> username;
  std::optional<std::string> password;

  // The URL again, with the password shown as "***": for logs and error messages.
  [[nodiscard]] std::string redacted() const;

  friend bool operator==(const RedisUrl&, const RedisUrl&) = default;
};

class RedisUrlError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws RedisUrlError, whose what() is a sentence naming the part that is wrong; it never
// repeats the password.
[[nodiscard]] RedisUrl parse_redis_url(std::string_view text);

}  // namespace pulse::presence
