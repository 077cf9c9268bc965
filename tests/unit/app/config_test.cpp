// Config: flags, PULSE_* environment fall-backs (flag wins), durations, one-line errors.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "pulse/app/config.hpp"
#include "support/temp_dir.hpp"

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
  CHECK(config.heartbeat.streams.max_streams == 1024);
  CHECK(config.heartbeat.streams.max_per_address == 32);
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

TEST_CASE("environment variables fill flags not given, flags win", "[config]") {
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

TEST_CASE("the flags --help and --version exit cleanly with text", "[config]") {
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

TEST_CASE("beat --hold and --cacert", "[config]") {
  const pulse::test::TempDir dir;
  const auto ca = dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n").string();
  const auto hold = parse({"beat", "https://pulse.example/heartbeat/web-1", "--hold", "--cacert", ca});
  CHECK(hold.command == Command::kBeat);
  CHECK(hold.beat.hold);
  CHECK(hold.beat.ca_file == ca);
  CHECK(hold.beat.hold_idle == 15s);  // three missed keep-alives of 5 s
  CHECK_FALSE(parse({"beat", "http://127.0.0.1:8080/heartbeat/web-1"}).beat.hold);
  CHECK(parse({"probe", "https://127.0.0.1:8443/healthz", "--cacert", ca}).probe.ca_file == ca);
  CHECK_THAT(error_of({"beat", "http://127.0.0.1:8080/heartbeat/web-1", "--hold", "--count", "3"}),
             Catch::Contains("--count"));
  CHECK_THAT(error_of({"beat", "http://127.0.0.1:8080/heartbeat/web-1", "--cacert", (dir.path() / "none").string()}),
             Catch::Contains("--cacert"));
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

TEST_CASE("tokens come from flags or the environment, none by default", "[config][tokens]") {
  CHECK(parse({}).heartbeat_tokens.empty());
  CHECK(parse({}).read_tokens.empty());
  const auto flags = parse({"--heartbeat-token", "write-0123", "--read-token", "read-4567"});
  CHECK(flags.heartbeat_tokens == std::vector<std::string>{"write-0123"});
  CHECK(flags.read_tokens == std::vector<std::string>{"read-4567"});
  CHECK(parse({"--heartbeat-token", "dGVzdA=="}).heartbeat_tokens == std::vector<std::string>{"dGVzdA=="});

  ScopedEnv write("PULSE_HEARTBEAT_TOKEN", "env-write");
  ScopedEnv read("PULSE_READ_TOKEN", "env-read");
  const auto from_env = parse({});
  CHECK(from_env.heartbeat_tokens == std::vector<std::string>{"env-write"});
  CHECK(from_env.read_tokens == std::vector<std::string>{"env-read"});
  CHECK(parse({"--heartbeat-token", "flag-wins"}).heartbeat_tokens == std::vector<std::string>{"flag-wins"});
}

TEST_CASE("token files: one a line, blank lines and white space ignored, several allowed", "[config][tokens]") {
  pulse::test::TempDir dir;
  const auto write_file = dir.write("write.tokens", "  old-token  \n\n\tnew-token\r\n   \n");
  const auto read_file = dir.write("read.tokens", "reader");
  const auto config = parse({"--heartbeat-token-file", write_file.string(), "--read-token-file", read_file.string()});
  CHECK(config.heartbeat_tokens == std::vector<std::string>{"old-token", "new-token"});
  CHECK(config.read_tokens == std::vector<std::string>{"reader"});
  // The flag's token and the file's both work, the flag's first.
  CHECK(parse({"--heartbeat-token", "from-flag", "--heartbeat-token-file", write_file.string()}).heartbeat_tokens ==
        std::vector<std::string>{"from-flag", "old-token", "new-token"});

  ScopedEnv file("PULSE_HEARTBEAT_TOKEN_FILE", write_file.string().c_str());
  CHECK(parse({}).heartbeat_tokens == std::vector<std::string>{"old-token", "new-token"});
  ScopedEnv read_env("PULSE_READ_TOKEN_FILE", read_file.string().c_str());
  CHECK(parse({}).read_tokens == std::vector<std::string>{"reader"});
}

TEST_CASE("bad tokens and token files are one-line errors naming the flag, never the token", "[config][tokens]") {
  pulse::test::TempDir dir;
  const auto empty = dir.write("empty", "");
  const auto blank = dir.write("blank", "\n  \n\t\r\n");
  const auto bad_line = dir.write("bad-line", "good-token\nhas secret space\n");
  const auto huge = dir.write("huge", std::string(70 * 1024, 'a'));
  std::string many;
  for (int i = 0; i < 33; ++i) many += "token-" + std::to_string(i) + "\n";
  const auto too_many = dir.write("many", many);
  const std::string missing = (dir.path() / "missing").string();

  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--heartbeat-token", ""}, "--heartbeat-token: must not be empty"},
      {{"--read-token", ""}, "--read-token: must not be empty"},
      {{"--heartbeat-token", "has space"}, "--heartbeat-token: must be 1 to 256 characters"},
      {{"--heartbeat-token", "quote\"d"}, "--heartbeat-token: must be"},
      {{"--read-token", "a=b"}, "--read-token: must be"},
      {{"--read-token", "caf\xc3\xa9"}, "--read-token: must be"},
      {{"--heartbeat-token", std::string(257, 'x')}, "--heartbeat-token: must be"},
      {{"--heartbeat-token-file", missing}, "--heartbeat-token-file: cannot read"},
      {{"--heartbeat-token-file", dir.path().string()}, "--heartbeat-token-file: cannot read"},
      {{"--read-token-file", empty.string()}, "--read-token-file: '" + empty.string() + "' holds no token"},
      {{"--heartbeat-token-file", blank.string()}, "holds no token"},
      {{"--heartbeat-token-file", bad_line.string()}, "--heartbeat-token-file: line 2 of"},
      {{"--heartbeat-token-file", huge.string()}, "is larger than 65536 bytes"},
      {{"--heartbeat-token-file", too_many.string()}, "--heartbeat-token: 33 tokens; at most 32"},
      {{"--heartbeat-token-file", ""}, "--heartbeat-token-file: must not be empty"},
  };
  for (const auto& [args, expected] : cases) {
    INFO(args.front() << " " << args.back().substr(0, 40));
    const std::string message = error_of(args);
    CHECK(message.find(expected) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.find("secret") == std::string::npos);
    CHECK(message.find("has space") == std::string::npos);
  }
}

TEST_CASE("a token variable set but empty is an error, not an open server", "[config][tokens]") {
  {
    ScopedEnv empty("PULSE_HEARTBEAT_TOKEN", "");
    const std::string message = error_of({});
    CHECK(message.find("--heartbeat-token: must not be empty") != std::string::npos);
    CHECK(message.find("PULSE_HEARTBEAT_TOKEN") != std::string::npos);
    // A flag given on the command line takes its place.
    CHECK(parse({"--heartbeat-token", "given"}).heartbeat_tokens == std::vector<std::string>{"given"});
  }
  {
    ScopedEnv empty("PULSE_READ_TOKEN_FILE", "");
    CHECK(error_of({}).find("--read-token-file: must not be empty (from environment variable PULSE_READ_TOKEN_FILE)") !=
          std::string::npos);
  }
}

TEST_CASE("beat sends the heartbeat token from the environment", "[config][tokens]") {
  CHECK(parse({"beat", "http://127.0.0.1:1/heartbeat/x"}).beat.token.empty());
  ScopedEnv token("PULSE_HEARTBEAT_TOKEN", "client-token");
  const auto config = parse({"beat", "http://127.0.0.1:1/heartbeat/x"});
  CHECK(config.command == Command::kBeat);
  CHECK(config.beat.token == "client-token");
}

TEST_CASE("presence lives in memory unless --presence names a Redis", "[config][presence]") {
  const auto memory = parse({});
  CHECK_FALSE(memory.presence.redis);
  CHECK(memory.presence.prefix == "pulse:");
  CHECK(memory.presence.wait_replicas == 0);

  const auto redis = parse({"--presence", "redis://127.0.0.1:6390/2", "--presence-prefix", "team-a:",
                            "--presence-wait-replicas", "1"});
  REQUIRE(redis.presence.redis);
  CHECK(redis.presence.redis->transport == pulse::presence::RedisTransport::kTcp);
  CHECK(redis.presence.redis->db == 2);
  CHECK(redis.presence.prefix == "team-a:");
  CHECK(redis.presence.wait_replicas == 1);

  ScopedEnv url("PULSE_PRESENCE", "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/main");
  ScopedEnv password("PULSE_REDIS_PASSWORD", "s3cret");
  const auto sentinel = parse({});
  REQUIRE(sentinel.presence.redis);
  CHECK(sentinel.presence.redis->transport == pulse::presence::RedisTransport::kSentinel);
  CHECK(sentinel.presence.redis->master_name == "main");
  CHECK(sentinel.presence.password == "s3cret");
}

TEST_CASE("bad presence settings are one-line errors naming the flag", "[config][presence]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--presence", "postgres://db"}, "--presence"},
      {{"--presence", "redis://:pw@127.0.0.1:99999"}, "--presence"},
      {{"--presence-prefix", ""}, "--presence-prefix"},
      {{"--presence-prefix", "has space"}, "--presence-prefix"},
      {{"--presence-wait-replicas", "1"}, "--presence-wait-replicas"},
      {{"--presence", "redis://127.0.0.1:6379", "--heartbeat-state", "/tmp/state.json"}, "--heartbeat-state"},
  };
  for (const auto& [args, name] : cases) {
    const auto message = error_of(args);
    INFO(message);
    CHECK(message.find(name) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.find("pw") == std::string::npos);  // a password never shows in an error
  }
}

TEST_CASE("the flags --heartbeat-history and --heartbeat-client-metrics", "[config]") {
  const auto defaults = parse({});
  CHECK(defaults.heartbeat.history_length == pulse::presence::kDefaultHistoryLength);
  CHECK(defaults.heartbeat.client_metrics == 0);
  const auto set = parse({"--heartbeat-history", "50", "--heartbeat-client-metrics", "200"});
  CHECK(set.heartbeat.history_length == 50);
  CHECK(set.heartbeat.client_metrics == 200);
  CHECK(parse({"--heartbeat-history", "0"}).heartbeat.history_length == 0);
  CHECK(parse({"--heartbeat-history", "1000"}).heartbeat.history_length == pulse::presence::kMaxHistoryLength);
  {
    ScopedEnv history("PULSE_HEARTBEAT_HISTORY", "7");
    ScopedEnv clients("PULSE_HEARTBEAT_CLIENT_METRICS", "3");
    CHECK(parse({}).heartbeat.history_length == 7);
    CHECK(parse({}).heartbeat.client_metrics == 3);
  }
  for (const auto& [args, name] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--heartbeat-history", "1001"}, "--heartbeat-history"},
           {{"--heartbeat-history", "-1"}, "--heartbeat-history"},
           {{"--heartbeat-history", "ten"}, "--heartbeat-history"},
           {{"--heartbeat-client-metrics", "100001"}, "--heartbeat-client-metrics"},
           {{"--heartbeat-client-metrics", "x"}, "--heartbeat-client-metrics"},
       }) {
    const auto message = error_of(args);
    INFO(message);
    CHECK(message.find(name) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
  {
    ScopedEnv history("PULSE_HEARTBEAT_HISTORY", "5000");
    CHECK(error_of({}).find("PULSE_HEARTBEAT_HISTORY") != std::string::npos);
  }
  const auto help = parse({"--help"}).exit_output;
  CHECK(help.find("--heartbeat-history") != std::string::npos);
  CHECK(help.find("--heartbeat-client-metrics") != std::string::npos);
}

TEST_CASE("the defer-accept flag: one second by default, rounded up to seconds, 0 turns it off", "[config]") {
  CHECK(parse({}).defer_accept == 1s);
  CHECK(parse({"--defer-accept", "0"}).defer_accept == 0s);
  CHECK(parse({"--defer-accept", "1500ms"}).defer_accept == 2s);
  CHECK(parse({"--defer-accept", "1m"}).defer_accept == 60s);
  {
    ScopedEnv env("PULSE_DEFER_ACCEPT", "5s");
    CHECK(parse({}).defer_accept == 5s);
  }
  CHECK(error_of({"--defer-accept", "61s"}) == "--defer-accept: must be between 0s and 1m");
  CHECK(error_of({"--defer-accept", "soon"}).find("--defer-accept") != std::string::npos);
}
