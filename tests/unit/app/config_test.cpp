// Config: flags, PULSE_* environment fall-backs (flag wins), durations, one-line errors.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "pulse/app/config.hpp"

using namespace std::chrono_literals;
using pulse::app::Command;
using pulse::app::Config;
using pulse::app::ConfigError;
using pulse::app::parse_config;
using pulse::app::parse_duration;

namespace {

Config parse(std::vector<std::string> args) {
  args.insert(args.begin(), "pulsehttpd");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_config(static_cast<int>(argv.size()), argv.data());
}

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

std::string error_of(std::vector<std::string> args) {
  try {
    (void)parse(std::move(args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("defaults", "[config]") {
  const auto config = parse({});
  CHECK(config.command == Command::kServe);
  CHECK(config.bind == "127.0.0.1");
  CHECK(config.port == 8080);
  CHECK(config.static_files.root == "www");
  CHECK(config.threads >= 1);
  CHECK(config.limits.keepalive_timeout == 15s);
  CHECK(config.limits.header_timeout == 10s);
  CHECK(config.limits.body_timeout == 60s);
  CHECK(config.access_log == "off");
  CHECK(config.heartbeat.default_interval == 30s);
}

TEST_CASE("flags set every server option", "[config]") {
  const auto config = parse({"--bind",
                             "::1",
                             "--port",
                             "0",
                             "--root",
                             "/srv/www",
                             "--threads",
                             "3",
                             "--keepalive-timeout",
                             "500ms",
                             "--header-timeout",
                             "2s",
                             "--body-timeout",
                             "90s",
                             "--write-timeout",
                             "1m",
                             "--shutdown-timeout",
                             "3s",
                             "--max-requests-per-connection",
                             "7",
                             "--max-connections",
                             "99",
                             "--access-log",
                             "stdout",
                             "--autoindex",
                             "--cache-control",
                             "max-age=60"});
  CHECK(config.bind == "::1");
  CHECK(config.port == 0);
  CHECK(config.static_files.root == "/srv/www");
  CHECK(config.threads == 3);
  CHECK(config.limits.keepalive_timeout == 500ms);
  CHECK(config.limits.header_timeout == 2s);
  CHECK(config.limits.body_timeout == 90s);
  CHECK(config.limits.write_timeout == 60s);
  CHECK(config.limits.shutdown_timeout == 3s);
  CHECK(config.limits.max_requests_per_connection == 7);
  CHECK(config.limits.max_connections == 99);
  CHECK(config.access_log == "stdout");
  CHECK(config.static_files.autoindex);
  CHECK(config.static_files.cache_control == "max-age=60");
}

TEST_CASE("environment variables fill flags not given; flags win", "[config]") {
  ScopedEnv port("PULSE_PORT", "9090");
  ScopedEnv timeout("PULSE_KEEPALIVE_TIMEOUT", "3s");
  ScopedEnv root("PULSE_ROOT", "/env/root");
  const auto from_env = parse({});
  CHECK(from_env.port == 9090);
  CHECK(from_env.limits.keepalive_timeout == 3s);
  CHECK(from_env.static_files.root == "/env/root");
  const auto flag_wins = parse({"--port", "7070", "--keepalive-timeout", "4s"});
  CHECK(flag_wins.port == 7070);
  CHECK(flag_wins.limits.keepalive_timeout == 4s);
}

TEST_CASE("bad flags and values are one-line errors naming them", "[config]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--port", "70000"}, "--port"},
      {{"--port", "http"}, "--port"},
      {{"--keepalive-timeout", "soon"}, "--keepalive-timeout"},
      {{"--threads", "-1"}, "--threads"},
      {{"--no-such-flag"}, "--no-such-flag"},
      {{"--max-connections", "0"}, "--max-connections"},
      {{"--heartbeat-interval", "0s"}, "--heartbeat-interval"},
  };
  for (const auto& [args, name] : cases) {
    const auto message = error_of(args);
    INFO(message);
    CHECK(message != "(no error)");
    CHECK(message.find(name) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("a bad environment value is an error too", "[config]") {
  ScopedEnv port("PULSE_PORT", "not-a-port");
  CHECK(error_of({}).find("PORT") != std::string::npos);
}

TEST_CASE("--help and --version exit cleanly with text", "[config]") {
  const auto help = parse({"--help"});
  CHECK(help.command == Command::kExit);
  CHECK(help.exit_code == 0);
  CHECK(help.exit_output.find("--keepalive-timeout") != std::string::npos);
  CHECK(help.exit_output.find("PULSE_PORT") != std::string::npos);
  const auto version = parse({"--version"});
  CHECK(version.command == Command::kExit);
  CHECK(version.exit_output.find("pulsehttpd ") == 0);
}

TEST_CASE("probe and beat subcommands", "[config]") {
  const auto probe = parse({"probe", "http://127.0.0.1:8080/healthz", "--timeout", "1s"});
  CHECK(probe.command == Command::kProbe);
  CHECK(probe.probe.url == "http://127.0.0.1:8080/healthz");
  CHECK(probe.probe.timeout == 1s);
  const auto beat = parse({"beat", "http://127.0.0.1:8080/heartbeat/web-1", "--interval", "5s", "--count", "3"});
  CHECK(beat.command == Command::kBeat);
  CHECK(beat.beat.interval == 5s);
  CHECK(beat.beat.count == 3);
}

TEST_CASE("durations", "[config]") {
  CHECK(parse_duration("15") == 15s);
  CHECK(parse_duration("15s") == 15s);
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("2m") == 120s);
  CHECK(parse_duration("1h") == 3600s);
  CHECK(parse_duration("1d") == 86400s);
  CHECK_FALSE(parse_duration("").has_value());
  CHECK_FALSE(parse_duration("s").has_value());
  CHECK_FALSE(parse_duration("-1s").has_value());
  CHECK_FALSE(parse_duration("1.5s").has_value());
  CHECK_FALSE(parse_duration("10 s").has_value());
  CHECK_FALSE(parse_duration("99999999999999999s").has_value());
}

TEST_CASE("a flag given twice takes its last value", "[config]") {
  const auto config = parse({"--port", "8080", "--port", "9000", "--root", "a", "--root", "b"});
  CHECK(config.port == 9000);
  CHECK(config.static_files.root == "b");
}

TEST_CASE("durations longer than ten years are refused instead of overflowing", "[config]") {
  CHECK(parse_duration("3650d") == std::chrono::hours(24 * 3650));
  CHECK_FALSE(parse_duration("3651d").has_value());
  CHECK_FALSE(parse_duration("200000d").has_value());
  CHECK_FALSE(parse_duration("999999999999h").has_value());
  CHECK(error_of({"--keepalive-timeout", "9999999999d"}).find("--keepalive-timeout") != std::string::npos);
  CHECK(error_of({"--body-timeout", "0s"}) == "--body-timeout: must be positive");
  CHECK(error_of({"beat", "http://127.0.0.1:1/heartbeat/x", "--interval", "31d"}).find("--interval") !=
        std::string::npos);
}

TEST_CASE("probe without a URL checks this server's /healthz at PULSE_PORT", "[config]") {
  CHECK(parse({"probe"}).probe.url == "http://127.0.0.1:8080/healthz");
  ScopedEnv port("PULSE_PORT", "9999");
  CHECK(parse({"probe"}).probe.url == "http://127.0.0.1:9999/healthz");
}

TEST_CASE("the file cache is on unless --no-file-cache", "[config]") {
  CHECK(parse({}).static_files.cache.enabled);
  CHECK_FALSE(parse({"--no-file-cache"}).static_files.cache.enabled);
  ScopedEnv off("PULSE_NO_FILE_CACHE", "1");
  CHECK_FALSE(parse({}).static_files.cache.enabled);
}
