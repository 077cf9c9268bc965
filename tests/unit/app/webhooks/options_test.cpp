// Webhook options: trigger words and which events they select, URL checks and labels, the flags.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "pulse/app/config.hpp"
#include "pulse/app/webhooks/flags.hpp"
#include "pulse/app/webhooks/options.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using pulse::app::ConfigError;
using pulse::app::webhooks::format_triggers;
using pulse::app::webhooks::parse_triggers;
using pulse::app::webhooks::url_error;
using pulse::app::webhooks::url_label;
using pulse::app::webhooks::wanted;
using pulse::presence::ClientState;
using pulse::presence::EventKind;
using pulse::presence::PresenceEvent;

namespace {

PresenceEvent event(EventKind kind, std::optional<ClientState> from, ClientState to) {
  PresenceEvent e;
  e.kind = kind;
  e.previous = from;
  e.client.id = "web-1";
  e.client.state = to;
  return e;
}

PresenceEvent change(ClientState from, ClientState to) {
  return event(EventKind::kChange, from, to);
}

pulse::app::Config parse(std::vector<std::string> args) {
  args.insert(args.begin(), "pulsehttpd");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return pulse::app::parse_config(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(std::vector<std::string> args) {
  try {
    (void)parse(std::move(args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("triggers: words, lists, and nothing else", "[webhooks]") {
  CHECK(format_triggers(*parse_triggers("down,failing,up")) == "down,failing,up");
  CHECK(format_triggers(*parse_triggers("leave,join,late")) == "late,join,leave");
  CHECK_FALSE(parse_triggers("").has_value());
  CHECK_FALSE(parse_triggers("down,").has_value());
  CHECK_FALSE(parse_triggers("Down").has_value());
  CHECK_FALSE(parse_triggers("down, up").has_value());
}

TEST_CASE("default triggers: down, failing, and recoveries from them", "[webhooks]") {
  const auto on = *parse_triggers("down,failing,up");
  CHECK(wanted(change(ClientState::kLate, ClientState::kDown), on));
  CHECK(wanted(change(ClientState::kFailing, ClientState::kDown), on));
  CHECK(wanted(change(ClientState::kUp, ClientState::kFailing), on));
  CHECK(wanted(change(ClientState::kDown, ClientState::kFailing), on));
  CHECK(wanted(change(ClientState::kDown, ClientState::kUp), on));
  CHECK(wanted(change(ClientState::kFailing, ClientState::kUp), on));
  // Nobody was told about late or paused, so their end is no news either.
  CHECK_FALSE(wanted(change(ClientState::kUp, ClientState::kLate), on));
  CHECK_FALSE(wanted(change(ClientState::kLate, ClientState::kUp), on));
  CHECK_FALSE(wanted(change(ClientState::kUp, ClientState::kPaused), on));
  CHECK_FALSE(wanted(change(ClientState::kPaused, ClientState::kUp), on));
  CHECK_FALSE(wanted(event(EventKind::kJoin, std::nullopt, ClientState::kUp), on));
  CHECK_FALSE(wanted(event(EventKind::kLeave, std::nullopt, ClientState::kUp), on));
  // A job whose first report is a failure: failing from nothing.
  CHECK(wanted(event(EventKind::kJoin, std::nullopt, ClientState::kFailing), on));
}

TEST_CASE("up: for an id alerted bad, whatever came between", "[webhooks]") {
  const auto on = *parse_triggers("down,failing,up");
  // The dispatcher remembers that the last alert was a down or a failing (alerted_bad).
  CHECK(wanted(change(ClientState::kLate, ClientState::kUp), on, /*alerted_bad=*/true));
  CHECK(wanted(change(ClientState::kPaused, ClientState::kUp), on, /*alerted_bad=*/true));
  CHECK_FALSE(wanted(change(ClientState::kUp, ClientState::kLate), on, /*alerted_bad=*/true));
  // Straight from down or failing: alerted, if that state is a trigger.
  const auto down_up = *parse_triggers("down,up");
  CHECK(wanted(change(ClientState::kDown, ClientState::kUp), down_up));
  CHECK_FALSE(wanted(change(ClientState::kFailing, ClientState::kUp), down_up));
  CHECK(wanted(change(ClientState::kFailing, ClientState::kUp), down_up, /*alerted_bad=*/true));
  // Without "up", never.
  CHECK_FALSE(wanted(change(ClientState::kDown, ClientState::kUp), *parse_triggers("down"), /*alerted_bad=*/true));
}

TEST_CASE("joins, leaves, late and paused when asked", "[webhooks]") {
  const auto on = *parse_triggers("join,leave,late,paused");
  CHECK(wanted(event(EventKind::kJoin, std::nullopt, ClientState::kUp), on));
  CHECK(wanted(event(EventKind::kLeave, std::nullopt, ClientState::kDown), on));
  CHECK(wanted(change(ClientState::kUp, ClientState::kLate), on));
  CHECK(wanted(change(ClientState::kUp, ClientState::kPaused), on));
  CHECK_FALSE(wanted(change(ClientState::kLate, ClientState::kDown), on));
  CHECK_FALSE(wanted(change(ClientState::kDown, ClientState::kUp), on));
  CHECK(wanted(event(EventKind::kJoin, std::nullopt, ClientState::kFailing), on));  // a join all the same
  CHECK_FALSE(wanted(event(EventKind::kJoin, std::nullopt, ClientState::kFailing), *parse_triggers("down")));
}

TEST_CASE("URLs: http and https with a host only", "[webhooks]") {
  CHECK_FALSE(url_error("http://127.0.0.1:9000/hook").has_value());
  CHECK_FALSE(url_error("https://hooks.slack.com/services/T0/B0/XYZ").has_value());
  CHECK_FALSE(url_error("HTTPS://example.com").has_value());
  CHECK(url_error("ftp://example.com/x")->find("only http:// and https://") != std::string::npos);
  REQUIRE(url_error("http:///x").has_value());
  CHECK(url_error("http:///x")->find("names no host") != std::string::npos);
  CHECK(url_error("https:///hooks/abc").has_value());
  CHECK(url_error("file:///etc/passwd").has_value());
  CHECK(url_error("example.com/hook").has_value());
  CHECK(url_error("http://").has_value());
  CHECK(url_error("").has_value());
  CHECK(url_error("http://exa mple.com/").has_value());
}

TEST_CASE("URL labels keep the path (often the secret) out of logs", "[webhooks]") {
  CHECK(url_label("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com");
  CHECK(url_label("http://127.0.0.1:9000/hook?token=s") == "http://127.0.0.1:9000");
  CHECK(url_label("https://user:pass@example.com/x") == "https://example.com");
  CHECK(url_label("nonsense/secret").find("secret") == std::string::npos);
}

TEST_CASE("flags: none by default", "[webhooks][config]") {
  const auto config = parse({});
  CHECK_FALSE(config.webhooks.enabled());
  CHECK(format_triggers(config.webhooks.triggers) == "down,failing,up");
  CHECK(config.webhooks.give_up == 24h);
  CHECK(config.webhooks.queue_capacity == 10'000);
  CHECK_FALSE(config.webhooks.server_name.empty());  // the host name
}

TEST_CASE("flags: repeated --webhook, every option", "[webhooks][config]") {
  pulse::test::TempDir dir;
  const auto ca = dir.write("ca.pem", "x");
  const auto config = parse({"--webhook",
                             "http://127.0.0.1:1/a",
                             "--webhook",
                             "https://example.com/b",
                             "--webhook-joins",
                             "--webhook-on",
                             "down",
                             "--server-name",
                             "pulse-1",
                             "--webhook-queue",
                             "5",
                             "--webhook-timeout",
                             "2s",
                             "--webhook-retry-base",
                             "50ms",
                             "--webhook-retry-max",
                             "1m",
                             "--webhook-give-up",
                             "1h",
                             "--webhook-cacert",
                             ca.string()});
  CHECK(config.webhooks.urls == std::vector<std::string>{"http://127.0.0.1:1/a", "https://example.com/b"});
  CHECK(format_triggers(config.webhooks.triggers) == "down,join,leave");
  CHECK(config.webhooks.server_name == "pulse-1");
  CHECK(config.webhooks.queue_capacity == 5);
  CHECK(config.webhooks.request_timeout == 2s);
  CHECK(config.webhooks.retry_base == 50ms);
  CHECK(config.webhooks.retry_max == 1min);
  CHECK(config.webhooks.give_up == 1h);
  CHECK(config.webhooks.ca_file == ca.string());
}

TEST_CASE("flags: PULSE_WEBHOOK takes URLs separated by commas", "[webhooks][config]") {
  ::setenv("PULSE_WEBHOOK", "http://127.0.0.1:1/a,https://example.com/b", 1);
  const auto config = parse({});
  ::unsetenv("PULSE_WEBHOOK");
  CHECK(config.webhooks.urls == std::vector<std::string>{"http://127.0.0.1:1/a", "https://example.com/b"});
}

TEST_CASE("flags: a --webhook URL with a comma in it stays one URL", "[webhooks][config]") {
  // Commas are legal in a path and a query string; only PULSE_WEBHOOK is a list.
  const auto config = parse({"--webhook", "https://example.com/hook?tags=a,b", "--webhook", "http://127.0.0.1:1/x,y"});
  CHECK(config.webhooks.urls ==
        std::vector<std::string>{"https://example.com/hook?tags=a,b", "http://127.0.0.1:1/x,y"});
}

TEST_CASE("flags: --webhook on the command line wins over PULSE_WEBHOOK", "[webhooks][config]") {
  ::setenv("PULSE_WEBHOOK", "http://127.0.0.1:1/a,https://example.com/b", 1);
  const auto config = parse({"--webhook", "https://example.com/c,d"});
  ::unsetenv("PULSE_WEBHOOK");
  CHECK(config.webhooks.urls == std::vector<std::string>{"https://example.com/c,d"});
}

TEST_CASE("flags: PULSE_WEBHOOK pieces are trimmed, empty ones skipped, bad ones named", "[webhooks][config]") {
  CHECK(pulse::app::webhooks::split_webhook_list(" http://a/1 ,, http://b/2,") ==
        std::vector<std::string>{"http://a/1", "http://b/2"});
  ::setenv("PULSE_WEBHOOK", "http://127.0.0.1:1/a,ftp://example.com/", 1);
  const auto error = error_of({});
  ::unsetenv("PULSE_WEBHOOK");
  CHECK(error ==
        "--webhook: only http:// and https:// URLs are allowed, not ftp:// (from environment variable PULSE_WEBHOOK)");
}

TEST_CASE("flags: one-line errors naming the flag", "[webhooks][config]") {
  CHECK(error_of({"--webhook", "ftp://example.com/"}) ==
        "--webhook: only http:// and https:// URLs are allowed, not ftp://");
  CHECK(error_of({"--webhook", "example.com/hook"}).rfind("--webhook: ", 0) == 0);
  CHECK(error_of({"--webhook-on", "down,sideways"}).rfind("--webhook-on: ", 0) == 0);
  CHECK(error_of({"--server-name", "a b"}).rfind("--server-name: ", 0) == 0);
  CHECK(error_of({"--webhook-queue", "0"}).find("--webhook-queue") != std::string::npos);
  CHECK(error_of({"--webhook-retry-base", "0s"}) == "--webhook-retry-base: must be positive");
  CHECK(error_of({"--webhook-retry-base", "2s", "--webhook-retry-max", "1s"}).rfind("--webhook-retry-max: ", 0) == 0);
  CHECK(error_of({"--webhook-timeout", "soon"}).find("--webhook-timeout") != std::string::npos);
  CHECK(error_of({"--webhook-cacert", "/nonexistent/ca.pem"}).rfind("--webhook-cacert: ", 0) == 0);
}
