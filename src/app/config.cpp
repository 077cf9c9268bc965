// Config: CLI11 definitions of every flag, its environment variable and its validation.
#include "pulse/app/config.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "pulse/app/token_file.hpp"
#include "pulse/app/webhooks/flags.hpp"
#include "pulse/base/parse.hpp"
#include "pulse/http/bearer_auth.hpp"
#include "pulse/presence/limits.hpp"

namespace pulse::app {
namespace {

using std::chrono::milliseconds;

// The longest duration any flag takes: ten years.
constexpr milliseconds kMaxDuration = std::chrono::hours(24 * 3650);
// Digits a duration may have, leading zeros included (ten years in milliseconds has 12): longer
// text is refused whatever its value, as the flags have always done.
constexpr std::size_t kMaxDurationDigits = 12;
// Per-client series beyond this would be a Prometheus outage, not a dashboard.
constexpr std::size_t kMaxClientMetrics = 100'000;
// A key prefix long enough for "team-env-pulse:", short enough that keys stay small.
constexpr std::size_t kMaxPresencePrefixBytes = 64;

struct DurationUnit {
  std::string_view suffix;
  std::int64_t ms;
};
// Largest first: format_duration() picks the first that divides exactly.
constexpr std::array<DurationUnit, 5> kDurationUnits{
    {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}}};

// The shortest exact spelling: 15000 ms -> "15s", 86400000 ms -> "1d", 0 -> "0s".
std::string format_duration(milliseconds value) {
  const std::int64_t ms = value.count();
  for (const auto& unit : kDurationUnits) {
    if (ms % unit.ms == 0 && (ms != 0 || unit.suffix == "s")) return fmt::format("{}{}", ms / unit.ms, unit.suffix);
  }
  return fmt::format("{}ms", ms);
}

// CLI11 transforms duration text into milliseconds so that "15s" and "500ms" both work.
CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto parsed = parse_duration(text);
        if (!parsed) return fmt::format("'{}' is not a duration (examples: 15s, 500ms, 2m)", text);
        text = std::to_string(parsed->count());
        return {};
      },
      "");  // no extra text in --help: the type name already says DURATION
}

void add_duration(CLI::App& app, const std::string& name, milliseconds& target, const std::string& env,
                  const std::string& help) {
  app.add_option_function<std::int64_t>(
         name, [&target](std::int64_t ms) { target = milliseconds(ms); }, help)
      ->envname(env)
      ->transform(duration_validator())
      ->type_name("DURATION")
      ->default_str(format_duration(target));
}

std::string one_line(std::string text) {
  for (auto& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// When the bad value came from an environment variable, say which: the message names the flag.
std::string environment_hint(const CLI::App& app, const std::string& message, int argc, const char* const* argv) {
  for (const CLI::Option* option : app.get_options()) {
    const std::string& env = option->get_envname();
    if (env.empty() || std::getenv(env.c_str()) == nullptr) continue;
    const std::string flag = option->get_name();
    if (message.find(flag) == std::string::npos) continue;
    bool on_command_line = false;
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (arg == flag || arg.substr(0, flag.size() + 1) == flag + "=") on_command_line = true;
    }
    if (!on_command_line) return fmt::format(" (from environment variable {})", env);
  }
  return {};
}

// CLI11 skips an environment variable set to "". For a token that would leave the server open
// without a word (PULSE_HEARTBEAT_TOKEN=$TYPO), so it is an error instead.
bool set_but_empty(const std::string& env) {
  const char* value = std::getenv(env.c_str());
  return value != nullptr && *value == '\0';
}

// A token flag and its -file form: --heartbeat-token and --heartbeat-token-file.
struct TokenFlags {
  std::string flag;  // "--heartbeat-token"
  std::string env;   // "PULSE_HEARTBEAT_TOKEN"; the file's is env + "_FILE"
  std::string token;
  std::string file;
  CLI::Option* token_option = nullptr;
  CLI::Option* file_option = nullptr;

  [[nodiscard]] std::string file_flag() const { return flag + "-file"; }
  [[nodiscard]] std::string file_env() const { return env + "_FILE"; }
};

void add_token_flags(CLI::App& app, TokenFlags& flags, const std::string& what) {
  flags.token_option = app.add_option(flags.flag, flags.token,
                                      fmt::format("Bearer token that {} need (a flag shows in ps: prefer {} or {})",
                                                  what, flags.env, flags.file_flag()))
                           ->envname(flags.env)
                           ->type_name("TOKEN");
  flags.file_option = app.add_option(flags.file_flag(), flags.file,
                                     fmt::format("File of tokens for {}, one a line (several: to rotate them)", what))
                          ->envname(flags.file_env())
                          ->type_name("PATH");
}

// The flag's token, then the file's; each checked, none ever quoted in a message.
std::vector<std::string> collect_tokens(const TokenFlags& flags) {
  std::vector<std::string> tokens;
  if (flags.token_option->count() > 0) {
    if (flags.token.empty()) throw ConfigError(fmt::format("{}: must not be empty", flags.flag));
    if (!is_valid_token(flags.token)) throw ConfigError(fmt::format("{}: must be {}", flags.flag, token_rule()));
    tokens.push_back(flags.token);
  } else if (set_but_empty(flags.env)) {
    throw ConfigError(fmt::format("{}: must not be empty (from environment variable {})", flags.flag, flags.env));
  }
  if (flags.file_option->count() > 0) {
    if (flags.file.empty()) throw ConfigError(fmt::format("{}: must not be empty", flags.file_flag()));
    auto from_file = read_token_file(flags.file_flag(), flags.file);
    tokens.insert(tokens.end(), from_file.begin(), from_file.end());
  } else if (set_but_empty(flags.file_env())) {
    throw ConfigError(
        fmt::format("{}: must not be empty (from environment variable {})", flags.file_flag(), flags.file_env()));
  }
  if (tokens.size() > http::kMaxTokensPerSet) {
    throw ConfigError(
        fmt::format("{}: {} tokens; at most {} are allowed", flags.flag, tokens.size(), http::kMaxTokensPerSet));
  }
  return tokens;
}

// --presence and its companions, checked together: one line naming the flag at fault.
void parse_presence(const std::string& presence_flag, Config& config) {
  auto& settings = config.presence;
  if (const char* password = std::getenv("PULSE_REDIS_PASSWORD"); password != nullptr && *password != '\0') {
    settings.password = password;
  }
  if (settings.prefix.empty() || settings.prefix.size() > kMaxPresencePrefixBytes ||
      !std::all_of(settings.prefix.begin(), settings.prefix.end(), [](char c) { return c > ' ' && c < 0x7f; })) {
    throw ConfigError(fmt::format("--presence-prefix: must be 1 to {} printable characters without spaces",
                                  kMaxPresencePrefixBytes));
  }
  if (presence_flag == "memory") {
    if (settings.wait_replicas != 0) throw ConfigError("--presence-wait-replicas: needs a Redis --presence");
    return;
  }
  try {
    settings.redis = presence::parse_redis_url(presence_flag);
  } catch (const presence::RedisUrlError& error) {
    throw ConfigError(fmt::format("--presence: {}", error.what()));
  }
  if (config.heartbeat.state_file) {
    throw ConfigError(
        "--heartbeat-state: belongs to --presence memory; with Redis, presence persists in Redis itself "
        "(turn on its appendonly file)");
  }
}

}  // namespace

std::optional<milliseconds> parse_duration(const std::string& text) {
  const auto number = base::parse_decimal_prefix<std::uint64_t>(text);
  if (number.digits == 0 || number.digits > kMaxDurationDigits) return std::nullopt;
  const auto value = static_cast<std::int64_t>(number.value);
  const std::string_view unit = std::string_view(text).substr(number.digits);
  // A bare number is seconds.
  const std::string_view suffix = unit.empty() ? std::string_view("s") : unit;
  const auto found = std::find_if(kDurationUnits.begin(), kDurationUnits.end(),
                                  [&](const DurationUnit& u) { return u.suffix == suffix; });
  if (found == kDurationUnits.end()) return std::nullopt;
  const std::int64_t unit_ms = found->ms;
  // Capped so that "now + duration" can never overflow a clock (and no timeout needs more).
  if (value > kMaxDuration.count() / unit_ms) return std::nullopt;
  return milliseconds(value * unit_ms);
}

Config parse_config(int argc, const char* const* argv) {
  Config config;
  CLI::App app{
      "pulsehttpd: a small, fast HTTP/1.0 and HTTP/1.1 static-file and heartbeat server.\n"
      "Every option can also be set through the environment variable shown (flags win)."};
  app.set_version_flag("--version", std::string("pulsehttpd ") + PULSE_VERSION);
  app.option_defaults()->always_capture_default();
  // As with most Unix tools, a flag given twice takes its last value (scripts append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  std::string root = config.static_files.root.string();
  app.add_option("--bind", config.bind, "Address to listen on (numeric IPv4/IPv6, or localhost)")
      ->envname("PULSE_BIND");
  app.add_option("--port", config.port, "TCP port (0 picks a free port; the bound address is printed)")
      ->envname("PULSE_PORT");
  app.add_option("--root", root, "Document root to serve")->envname("PULSE_ROOT");
  app.add_option("--threads", config.threads, "Worker threads (0: one per core)")
      ->envname("PULSE_THREADS")
      ->check(CLI::Range(0u, 1024u));
  app.add_option("--access-log", config.access_log, "Access log: off, stdout, or a file path")
      ->envname("PULSE_ACCESS_LOG");

  milliseconds defer_accept = config.defer_accept;
  add_duration(app, "--defer-accept", defer_accept, "PULSE_DEFER_ACCEPT",
               "Accept a connection once its request starts to arrive, or after this long if it sends nothing "
               "(TCP_DEFER_ACCEPT; 0 accepts at the handshake)");

  auto& limits = config.limits;
  add_duration(app, "--keepalive-timeout", limits.keepalive_timeout, "PULSE_KEEPALIVE_TIMEOUT",
               "Close an idle keep-alive connection after this long");
  add_duration(app, "--header-timeout", limits.header_timeout, "PULSE_HEADER_TIMEOUT",
               "Time from a request's first byte to the end of its headers; also the longest pause inside a body");
  add_duration(app, "--body-timeout", limits.body_timeout, "PULSE_BODY_TIMEOUT",
               "Time from the end of a request's headers to the end of its body");
  add_duration(app, "--write-timeout", limits.write_timeout, "PULSE_WRITE_TIMEOUT",
               "Close a connection whose client accepts no data for this long");
  add_duration(app, "--shutdown-timeout", limits.shutdown_timeout, "PULSE_SHUTDOWN_TIMEOUT",
               "Grace period for responses in flight at SIGTERM/SIGINT");
  app.add_option("--max-requests-per-connection", limits.max_requests_per_connection,
                 "Close a keep-alive connection after this many requests (0: no limit)")
      ->envname("PULSE_MAX_REQUESTS_PER_CONNECTION");
  app.add_option("--max-connections", limits.max_connections, "Open connections at most; more are refused with 503")
      ->envname("PULSE_MAX_CONNECTIONS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  app.add_option("--max-header-bytes", limits.max_header_bytes, "Request line + headers limit (431)")
      ->envname("PULSE_MAX_HEADER_BYTES")
      ->check(CLI::Range(std::size_t{256}, std::size_t{1} << 30));
  app.add_option("--max-uri-bytes", limits.max_uri_bytes, "Request-target limit (414)")
      ->envname("PULSE_MAX_URI_BYTES")
      ->check(CLI::Range(std::size_t{16}, std::size_t{1} << 30));
  app.add_option("--max-header-count", limits.max_header_count, "Header fields limit (431)")
      ->envname("PULSE_MAX_HEADER_COUNT")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
  app.add_option("--max-body-bytes", limits.max_body_bytes, "Request body limit (413)")
      ->envname("PULSE_MAX_BODY_BYTES");

  auto& files = config.static_files;
  app.add_flag("--serve-dotfiles", files.serve_dotfiles, "Serve files whose names start with '.'")
      ->envname("PULSE_SERVE_DOTFILES");
  app.add_flag("--autoindex", files.autoindex, "List directories that have no index.html")->envname("PULSE_AUTOINDEX");
  app.add_option("--cache-control", files.cache_control, "Cache-Control header for static files")
      ->envname("PULSE_CACHE_CONTROL");
  app.add_flag("--precompressed", files.precompressed, "Serve file.gz to clients accepting gzip")
      ->envname("PULSE_PRECOMPRESSED");
  bool no_file_cache = false;
  app.add_flag("--no-file-cache", no_file_cache,
               "Open every file per request (default: each worker caches hot files, revalidated within 1s)")
      ->envname("PULSE_NO_FILE_CACHE");

  auto& beats = config.heartbeat;
  milliseconds interval = beats.default_interval;
  milliseconds retention = beats.retention;
  std::string state_file;
  add_duration(app, "--heartbeat-interval", interval, "PULSE_HEARTBEAT_INTERVAL",
               "Default interval a client promises between beats");
  add_duration(app, "--heartbeat-retention", retention, "PULSE_HEARTBEAT_RETENTION",
               "Forget clients down for longer than this");
  app.add_option("--heartbeat-max-clients", beats.max_clients, "Distinct client ids at most (503 beyond)")
      ->envname("PULSE_HEARTBEAT_MAX_CLIENTS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
  app.add_option("--max-event-streams", beats.streams.max_streams,
                 "Open /heartbeat/events streams at most (503 beyond)")
      ->envname("PULSE_MAX_EVENT_STREAMS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--max-streams-per-address", beats.streams.max_per_address,
                 "Open event streams at most from one remote address (503 beyond)")
      ->envname("PULSE_MAX_STREAMS_PER_ADDRESS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--heartbeat-history", beats.history_length,
                 "State changes and job runs kept per client for GET /heartbeat/{id}/history (0: none)")
      ->envname("PULSE_HEARTBEAT_HISTORY")
      ->check(CLI::Range(std::size_t{0}, presence::kMaxHistoryLength));
  app.add_option("--heartbeat-client-metrics", beats.client_metrics,
                 "Per-client series in /metrics for at most this many clients, the first by id (0: none; "
                 "each client costs Prometheus a few series)")
      ->envname("PULSE_HEARTBEAT_CLIENT_METRICS")
      ->check(CLI::Range(std::size_t{0}, kMaxClientMetrics));
  app.add_option("--heartbeat-state", state_file, "Keep the heartbeat registry in this file across restarts")
      ->envname("PULSE_HEARTBEAT_STATE");
  std::string presence = "memory";
  app.add_option("--presence", presence,
                 "Where presence lives: memory (this process), or a Redis shared by replicas: "
                 "redis://[:PASSWORD@]HOST:PORT[/DB], unix:///PATH[?db=N], "
                 "redis+sentinel://HOST:PORT,HOST:PORT/MASTER (password also from PULSE_REDIS_PASSWORD)")
      ->envname("PULSE_PRESENCE")
      ->capture_default_str();
  app.add_option("--presence-prefix", config.presence.prefix, "Prefix of every Redis key (replicas that share it are one server)")
      ->envname("PULSE_PRESENCE_PREFIX")
      ->capture_default_str();
  app.add_option("--presence-wait-replicas", config.presence.wait_replicas,
                 "With Redis: acknowledge a beat only once this many Redis replicas have it (WAIT), so a failover "
                 "loses none")
      ->envname("PULSE_PRESENCE_WAIT_REPLICAS")
      ->check(CLI::Range(0u, 16u))
      ->capture_default_str();
  TokenFlags heartbeat_tokens{.flag = "--heartbeat-token", .env = "PULSE_HEARTBEAT_TOKEN"};
  add_token_flags(app, heartbeat_tokens, "beats and sign-offs (POST, PUT, DELETE under /heartbeat)");
  TokenFlags read_tokens{.flag = "--read-token", .env = "PULSE_READ_TOKEN"};
  add_token_flags(app, read_tokens, "reads of /heartbeat and /metrics (GET, HEAD)");

  webhooks::WebhookFlags webhook_flags;
  webhooks::add_webhook_flags(app, webhook_flags);

  auto* probe = app.add_subcommand("probe", "Exit 0 when URL answers 2xx within the timeout (health checks)");
  probe->add_option("url", config.probe.url,
                    "http[s]://HOST[:PORT]/PATH (default: this server's /healthz on 127.0.0.1 and PULSE_PORT)");
  add_duration(*probe, "--timeout", config.probe.timeout, "PULSE_PROBE_TIMEOUT", "Give up after this long");
  probe->add_option("--cacert", config.probe.ca_file,
                    "For https://: trust the certificates in this PEM file instead of the system's")
      ->check(CLI::ExistingFile);

  auto* beat = app.add_subcommand(
      "beat", "Send heartbeats to URL over one persistent connection (with the token in PULSE_HEARTBEAT_TOKEN)");
  milliseconds beat_interval = config.beat.interval;
  beat->add_option("url", config.beat.url, "http[s]://HOST[:PORT]/heartbeat/ID")->required();
  add_duration(*beat, "--interval", beat_interval, "PULSE_BEAT_INTERVAL", "Time between beats");
  beat->add_option("--status", config.beat.status, "ok or fail")->check(CLI::IsMember({"ok", "fail"}));
  beat->add_option("--msg", config.beat.message, "Message sent with each beat");
  auto* count = beat->add_option("--count", config.beat.count, "Stop after this many beats (0: until Ctrl-C)");
  beat->add_option("--cacert", config.beat.ca_file,
                   "For https://: trust the certificates in this PEM file instead of the system's")
      ->check(CLI::ExistingFile);
  beat->add_flag("--hold", config.beat.hold,
                 "Instead of beating, hold GET URL/hold open: up while it is held, down soon after it drops. "
                 "Any bytes (a keep-alive every 5 s) show it alive; 15 s without any, or a drop, and it "
                 "reconnects after 1 s, doubling to 30 s (with jitter) while it fails. Ctrl-C signs off")
      ->excludes(count);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    config.command = Command::kExit;
    config.exit_output = app.help();
    return config;
  } catch (const CLI::CallForAllHelp&) {
    config.command = Command::kExit;
    config.exit_output = app.help("", CLI::AppFormatMode::All);
    return config;
  } catch (const CLI::CallForVersion&) {
    config.command = Command::kExit;
    config.exit_output = std::string("pulsehttpd ") + PULSE_VERSION + "\n";
    return config;
  } catch (const CLI::ParseError& e) {
    throw ConfigError(one_line(e.what()) + environment_hint(app, e.what(), argc, argv));
  }

  if (root.empty()) throw ConfigError("--root: must not be empty");
  files.cache.enabled = !no_file_cache;
  files.root = root;
  if (interval < std::chrono::seconds(1) || interval > std::chrono::hours(24 * 30)) {
    throw ConfigError("--heartbeat-interval: must be between 1s and 30d");
  }
  beats.default_interval = std::chrono::duration_cast<std::chrono::seconds>(interval);
  beats.retention = std::chrono::duration_cast<std::chrono::seconds>(retention);
  if (!state_file.empty()) beats.state_file = state_file;
  parse_presence(presence, config);
  config.webhooks = webhooks::check_webhook_flags(webhook_flags);
  if (config.access_log.empty()) throw ConfigError("--access-log: must be off, stdout or a file path");
  if (defer_accept < milliseconds(0) || defer_accept > std::chrono::minutes(1)) {
    throw ConfigError("--defer-accept: must be between 0s and 1m");
  }
  config.defer_accept = std::chrono::ceil<std::chrono::seconds>(defer_accept);
  if (limits.header_timeout.count() <= 0) throw ConfigError("--header-timeout: must be positive");
  if (limits.keepalive_timeout.count() <= 0) throw ConfigError("--keepalive-timeout: must be positive");
  if (limits.body_timeout.count() <= 0) throw ConfigError("--body-timeout: must be positive");
  if (limits.write_timeout.count() <= 0) throw ConfigError("--write-timeout: must be positive");
  if (config.threads == 0) config.threads = std::max(1u, std::thread::hardware_concurrency());
  config.heartbeat_tokens = collect_tokens(heartbeat_tokens);
  config.read_tokens = collect_tokens(read_tokens);

  if (probe->parsed()) {
    config.command = Command::kProbe;
    // A container health check runs in the server's environment: follow its PULSE_PORT.
    if (config.probe.url.empty()) config.probe.url = fmt::format("http://127.0.0.1:{}/healthz", config.port);
  }
  if (beat->parsed()) {
    config.command = Command::kBeat;
    if (beat_interval < std::chrono::seconds(1) || beat_interval > std::chrono::hours(24 * 30)) {
      throw ConfigError("beat --interval: must be between 1s and 30d");
    }
    config.beat.interval = std::chrono::duration_cast<std::chrono::seconds>(beat_interval);
    // The server's own variable: a client on the server's machine, or with its environment, just works.
    if (!config.heartbeat_tokens.empty()) config.beat.token = config.heartbeat_tokens.front();
  }
  return config;
}

}  // namespace pulse::app
