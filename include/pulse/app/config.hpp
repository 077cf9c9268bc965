// Config: every setting of the server, from flags with PULSE_<NAME> environment fall-backs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pulse/app/webhooks/options.hpp"
#include "pulse/handlers/heartbeat/service.hpp"
#include "pulse/handlers/static/static_files.hpp"
#include "pulse/http/limits.hpp"
#include "pulse/presence/redis_url.hpp"

namespace pulse::app {

enum class Command { kServe, kProbe, kBeat, kExit };

struct ProbeOptions {
  std::string url;
  std::chrono::milliseconds timeout{2000};
  std::string ca_file;  // --cacert: trust these certificates for https:// instead of the system's
};

struct BeatOptions {
  std::string url;
  std::chrono::seconds interval{30};
  std::string status = "ok";
  std::string message;
  std::uint64_t count = 0;  // 0: until interrupted
  std::string token;        // sent as Authorization: Bearer (PULSE_HEARTBEAT_TOKEN); empty: none
  std::string ca_file;      // --cacert: trust these certificates for https:// instead of the system's
  bool hold = false;        // --hold: hold GET URL/hold open instead of beating
  // --hold: no bytes for this long and the held connection is taken for dead: three of the
  // server's keep-alive comments (one every 5 s) missed. Not a flag; tests shorten it.
  std::chrono::milliseconds hold_idle{15000};
};

// Where presence lives: in this process (the default), or in a Redis shared by replicas.
struct PresenceConfig {
  std::optional<presence::RedisUrl> redis;  // nullopt: --presence memory
  std::string prefix = "pulse:";            // every Redis key starts with it
  std::optional<std::string> password;      // PULSE_REDIS_PASSWORD (a password in the URL wins)
  unsigned wait_replicas = 0;               // a write is acknowledged once this many Redis replicas have it
};

struct Config {
  Command command = Command::kServe;
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8080;
  unsigned threads = 0;            // 0: one per core
  // TCP_DEFER_ACCEPT (net::set_defer_accept): how long the kernel holds a connection that has
  // sent nothing before handing it over anyway; zero: hand over at the handshake.
  std::chrono::seconds defer_accept{1};
  std::string access_log = "off";  // off | stdout | PATH
  http::Limits limits;
  handlers::static_files::StaticFilesOptions static_files;
  handlers::heartbeat::HeartbeatOptions heartbeat;
  PresenceConfig presence;
  webhooks::WebhookOptions webhooks;  // alerts to --webhook URLs; none: no dispatcher
  // Bearer tokens (--heartbeat-token, --read-token, and their -file forms), each a b64token;
  // empty: that kind of access is open. Heartbeat tokens allow reads too.
  std::vector<std::string> heartbeat_tokens;
  std::vector<std::string> read_tokens;
  bool handle_signals = true;  // in-process tests drive shutdown through Server::stop()
  ProbeOptions probe;
  BeatOptions beat;
  int exit_code = 0;        // for Command::kExit (--help, --version)
  std::string exit_output;  // printed to stdout for Command::kExit
};

// A bad flag or value: `what()` is one line naming it; the process exits with status 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses argv; environment variables PULSE_<FLAG_NAME> fill flags not given (flags win).
// Throws ConfigError.
[[nodiscard]] Config parse_config(int argc, const char* const* argv);

// "15", "15s", "500ms", "2m", "1h", "1d" -> milliseconds. nullopt when malformed or longer
// than ten years.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

}  // namespace pulse::app
