// Issue 11's heartbeat endpoints over real sockets, the whole server in-process on 127.0.0.1:
// job runs (start, still alive, ok/fail/exit status, rid=), pause, history, the body as log
// (10 KiB, cut on a UTF-8 boundary), sticky settings, the new JSON fields in the list and the
// event stream, and /metrics (signals, the run histogram, capped per-client series). Durations
// come from the real clock: the tests sleep a little and check lower bounds, never speed.
#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "pulse/presence/limits.hpp"
#include "support/event_stream_reader.hpp"
#include "support/prometheus_text.hpp"
#include "support/redis_server.hpp"
#include "support/sse.hpp"
#include "support/test_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::test::ClientResponse;
using pulse::test::EventStreamReader;
using pulse::test::TestServer;

namespace {

json body_of(const ClientResponse& response) {
  INFO(response.body);
  return json::parse(response.body);
}

// The newest run in a client's history (there must be one). A request that ends a run and
// changes the state adds two entries at one instant, in an order the API does not promise.
json newest_run(const json& client) {
  REQUIRE(client.contains("history"));
  const auto& history = client["history"];
  for (auto entry = history.rbegin(); entry != history.rend(); ++entry) {
    if ((*entry)["kind"] == "run") return *entry;
  }
  FAIL("no run in the history: " << history.dump());
  return {};
}

// A run long enough that its duration is clearly over a second: the histogram's first bucket.
constexpr auto kRunTime = 1100ms;

}  // namespace

TEST_CASE("a job run: start, still alive, ok, with its duration in the JSON and the history",
          "[integration][heartbeat][jobs]") {
  TestServer server;
  auto client = server.connect();
  const auto started = client.request("POST", "/heartbeat/backup/start?interval=60");
  REQUIRE(started.status == 201);
  CHECK(started.header("Location") == "/heartbeat/backup");
  CHECK(body_of(started)["running"] == true);

  auto shown = body_of(client.request("GET", "/heartbeat/backup"));
  CHECK(shown["running"] == true);
  REQUIRE(shown["runs"].size() == 1);
  CHECK(shown["runs"][0]["rid"].is_null());
  CHECK(shown["last_duration_ms"].is_null());

  // A plain beat during the run says "still alive": the run goes on.
  std::this_thread::sleep_for(kRunTime / 2);
  const auto alive = client.request("POST", "/heartbeat/backup");
  REQUIRE(alive.status == 200);
  CHECK(body_of(alive)["running"] == true);
  CHECK(body_of(alive)["duration_ms"].is_null());

  std::this_thread::sleep_for(kRunTime / 2);
  const auto ended = client.request("POST", "/heartbeat/backup/ok?msg=42+files");
  REQUIRE(ended.status == 200);
  const auto end = body_of(ended);
  CHECK(end["running"] == false);
  CHECK(end["state"] == "up");
  CHECK(end["duration_ms"].get<std::int64_t>() >= kRunTime.count());
  CHECK(end["duration_ms"].get<std::int64_t>() < 30'000);

  shown = body_of(client.request("GET", "/heartbeat/backup"));
  CHECK(shown["running"] == false);
  CHECK(shown["runs"].empty());
  CHECK(shown["last_duration_ms"] == end["duration_ms"]);
  CHECK(shown["msg"] == "42 files");
  CHECK(shown["interval"] == 60);

  const auto history = body_of(client.request("GET", "/heartbeat/backup/history"));
  CHECK(history["id"] == "backup");
  REQUIRE_FALSE(history["history"].empty());
  CHECK(history["history"][0]["kind"] == "change");
  CHECK(history["history"][0]["from"].is_null());  // the join
  CHECK(history["history"][0]["to"] == "up");
  const auto last = newest_run(history);
  CHECK(last["result"] == "ok");
  CHECK(last["exit_code"].is_null());
  CHECK(last["duration_ms"] == end["duration_ms"]);
  CHECK(shown["history"] == history["history"]);
}

TEST_CASE("fail and exit statuses: 0 is ok, anything else failing with \"exit N\"", "[integration][heartbeat][jobs]") {
  TestServer server;
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/cron/start").status == 201);
  const auto failed = client.request("POST", "/heartbeat/cron/fail?msg=disk+full");
  REQUIRE(failed.status == 200);
  CHECK(body_of(failed)["state"] == "failing");
  CHECK(body_of(failed)["duration_ms"].is_number());
  auto shown = body_of(client.request("GET", "/heartbeat/cron"));
  CHECK(shown["status"] == "fail");
  CHECK(shown["msg"] == "disk full");
  CHECK(newest_run(shown)["result"] == "fail");
  CHECK(newest_run(shown)["exit_code"].is_null());

  REQUIRE(client.request("POST", "/heartbeat/cron/start").status == 200);
  const auto three = client.request("POST", "/heartbeat/cron/3");
  REQUIRE(three.status == 200);
  CHECK(body_of(three)["state"] == "failing");
  shown = body_of(client.request("GET", "/heartbeat/cron"));
  CHECK(shown["exit_code"] == 3);
  CHECK(shown["msg"] == "exit 3");
  CHECK(newest_run(shown)["exit_code"] == 3);
  CHECK(newest_run(shown)["result"] == "fail");

  // msg= says more than "exit N".
  REQUIRE(client.request("POST", "/heartbeat/cron/2?msg=no+space+left").status == 200);
  CHECK(body_of(client.request("GET", "/heartbeat/cron"))["msg"] == "no space left");

  const auto zero = client.request("POST", "/heartbeat/cron/0");
  REQUIRE(zero.status == 200);
  CHECK(body_of(zero)["state"] == "up");
  shown = body_of(client.request("GET", "/heartbeat/cron"));
  CHECK(shown["exit_code"] == 0);
  CHECK(shown["status"] == "ok");
  CHECK(shown["msg"] == "");

  // Exit statuses on a new id create it.
  CHECK(client.request("POST", "/heartbeat/fresh/0").status == 201);

  for (const char* bad : {"/heartbeat/cron/256", "/heartbeat/cron/-1", "/heartbeat/cron/0x1", "/heartbeat/cron/1000"}) {
    INFO(bad);
    const auto refused = client.request("POST", bad);
    CHECK(refused.status == 400);
    CHECK(body_of(refused)["error"] == "invalid_exit_status");
  }
  CHECK(client.request("GET", "/heartbeat/cron/0").status == 405);
  CHECK(client.request("POST", "/heartbeat/cron/finish").status == 404);
}

TEST_CASE("rid= tells overlapping runs apart", "[integration][heartbeat][jobs]") {
  TestServer server;
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/etl/start?rid=morning").status == 201);
  REQUIRE(client.request("POST", "/heartbeat/etl/start?rid=evening").status == 200);
  auto shown = body_of(client.request("GET", "/heartbeat/etl"));
  REQUIRE(shown["runs"].size() == 2);
  CHECK(shown["runs"][0]["rid"] == "morning");
  CHECK(shown["runs"][1]["rid"] == "evening");

  std::this_thread::sleep_for(100ms);
  const auto evening = client.request("POST", "/heartbeat/etl/0?rid=evening");
  REQUIRE(evening.status == 200);
  CHECK(body_of(evening)["duration_ms"].get<std::int64_t>() >= 100);
  shown = body_of(client.request("GET", "/heartbeat/etl"));
  REQUIRE(shown["runs"].size() == 1);
  CHECK(shown["runs"][0]["rid"] == "morning");

  // An rid that no open run has ends nothing.
  const auto stray = client.request("POST", "/heartbeat/etl/ok?rid=midnight");
  REQUIRE(stray.status == 200);
  CHECK(body_of(stray)["duration_ms"].is_null());
  CHECK(body_of(client.request("GET", "/heartbeat/etl"))["runs"].size() == 1);

  // Without rid=, the oldest open run ends.
  const auto oldest = client.request("POST", "/heartbeat/etl/ok");
  CHECK(body_of(oldest)["duration_ms"].is_number());
  CHECK(body_of(client.request("GET", "/heartbeat/etl"))["runs"].empty());

  const auto bad = client.request("POST", "/heartbeat/etl/start?rid=two%20words");
  CHECK(bad.status == 400);
  CHECK(body_of(bad)["error"] == "invalid_rid");
}

TEST_CASE("pause: 404 for an unknown id, its own state until the next beat", "[integration][heartbeat][pause]") {
  TestServer server;
  auto client = server.connect();
  const auto unknown = client.request("POST", "/heartbeat/nobody/pause");
  CHECK(unknown.status == 404);
  CHECK(body_of(unknown)["error"] == "not_found");
  CHECK(client.request("GET", "/heartbeat/nobody").status == 404);  // nothing was recorded

  REQUIRE(client.request("POST", "/heartbeat/db-1?interval=1&grace=1").status == 201);
  const auto paused = client.request("POST", "/heartbeat/db-1/pause");
  REQUIRE(paused.status == 200);
  CHECK(body_of(paused)["state"] == "paused");
  CHECK(body_of(paused)["paused"] == true);

  // Longer than interval + grace: still paused, not late or down.
  std::this_thread::sleep_for(2500ms);
  auto shown = body_of(client.request("GET", "/heartbeat/db-1"));
  CHECK(shown["state"] == "paused");
  CHECK(shown["online"] == false);
  const auto list = body_of(client.request("GET", "/heartbeat"));
  CHECK(list["counts"]["paused"] == 1);
  CHECK(list["counts"]["down"] == 0);
  const auto filtered = body_of(client.request("GET", "/heartbeat?state=paused"));
  REQUIRE(filtered["clients"].size() == 1);
  CHECK(filtered["clients"][0]["id"] == "db-1");
  CHECK(body_of(client.request("GET", "/heartbeat?state=down"))["clients"].empty());

  const auto back = client.request("POST", "/heartbeat/db-1");
  REQUIRE(back.status == 200);
  CHECK(body_of(back)["state"] == "up");
  shown = body_of(client.request("GET", "/heartbeat/db-1"));
  CHECK(shown["paused"] == false);
  // The history shows the pause and the return.
  std::vector<std::string> entered;
  for (const auto& entry : shown["history"]) {
    if (entry["kind"] == "change") entered.push_back(entry["to"]);
  }
  CHECK(entered == std::vector<std::string>{"up", "paused", "up"});
}

TEST_CASE("the body is the log: kept, cut at 10 KiB on a UTF-8 boundary, served as text",
          "[integration][heartbeat][log]") {
  TestServer server;
  auto client = server.connect();
  CHECK(client.request("GET", "/heartbeat/nobody/log").status == 404);
  REQUIRE(client.request("POST", "/heartbeat/quiet").status == 201);
  CHECK(client.request("GET", "/heartbeat/quiet/log").status == 204);
  CHECK(body_of(client.request("GET", "/heartbeat/quiet"))["log"].is_null());

  // What `curl --data-binary @backup.log` sends: a first line longer than a message, a 3-byte
  // character straddling the 10 KiB limit, and more after it. Not refused any more (was 413).
  constexpr auto kMax = pulse::presence::kMaxLogBytes;
  const std::string body = std::string(kMax - 1, 'a') + "\xE2\x82\xAC" + std::string(2000, 'b') + "\n";
  const auto beat = client.request("POST", "/heartbeat/backup", body, {{"Content-Type", "application/octet-stream"}});
  REQUIRE(beat.status == 201);
  const auto log = client.request("GET", "/heartbeat/backup/log");
  REQUIRE(log.status == 200);
  CHECK(log.header("Content-Type") == "text/plain; charset=utf-8");
  CHECK(log.body.size() == kMax - 1);
  CHECK(log.body == std::string(kMax - 1, 'a'));
  const auto shown = body_of(client.request("GET", "/heartbeat/backup"));
  CHECK(shown["log_bytes"] == kMax - 1);
  CHECK(shown["log"] == std::string(kMax - 1, 'a'));
  CHECK(shown["msg"] == std::string(pulse::presence::kMaxMessageBytes, 'a'));
  // The list carries the size, not the log.
  const auto listed = body_of(client.request("GET", "/heartbeat"));
  for (const auto& entry : listed["clients"]) {
    CHECK_FALSE(entry.contains("log"));
    if (entry["id"] == "backup") CHECK(entry["log_bytes"] == kMax - 1);
  }

  // A beat without a body keeps the log; one with a body replaces it.
  REQUIRE(client.request("POST", "/heartbeat/backup?msg=again").status == 200);
  CHECK(client.request("GET", "/heartbeat/backup/log").body.size() == kMax - 1);
  REQUIRE(client.request("POST", "/heartbeat/backup/0", "done: 3 files\ncaf\xC3\xA9\n").status == 200);
  const auto replaced = client.request("GET", "/heartbeat/backup/log");
  CHECK(replaced.body == "done: 3 files\ncaf\xC3\xA9\n");
  CHECK(body_of(client.request("GET", "/heartbeat/backup"))["msg"] == "done: 3 files");
  CHECK(client.request("HEAD", "/heartbeat/backup/log").status == 200);
}

TEST_CASE("settings are sticky: a beat without interval= keeps the client's", "[integration][heartbeat][sticky]") {
  TestServer server;
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/db-1?interval=5").status == 201);
  const auto failing = client.request("POST", "/heartbeat/db-1?status=fail");
  REQUIRE(failing.status == 200);
  CHECK(body_of(failing)["interval"] == 5);
  CHECK(body_of(failing)["grace"] == 5);  // default_grace(5): the 5 s floor
  REQUIRE(client.request("POST", "/heartbeat/db-1/start").status == 200);
  REQUIRE(client.request("POST", "/heartbeat/db-1/0").status == 200);
  auto shown = body_of(client.request("GET", "/heartbeat/db-1"));
  CHECK(shown["interval"] == 5);
  CHECK(shown["grace"] == 5);

  REQUIRE(client.request("POST", "/heartbeat/db-1?grace=20").status == 200);
  shown = body_of(client.request("GET", "/heartbeat/db-1"));
  CHECK(shown["interval"] == 5);
  CHECK(shown["grace"] == 20);
  REQUIRE(client.request("POST", "/heartbeat/db-1?interval=60").status == 200);
  shown = body_of(client.request("GET", "/heartbeat/db-1"));
  CHECK(shown["interval"] == 60);
  CHECK(shown["grace"] == 30);

  // A new id still takes the server's default.
  CHECK(body_of(client.request("POST", "/heartbeat/db-2?status=fail"))["interval"] == 30);
}

TEST_CASE("the flag --heartbeat-history bounds each client's history", "[integration][heartbeat][history]") {
  auto config = TestServer::default_config();
  config.heartbeat.history_length = 3;
  TestServer server(config);
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/flappy").status == 201);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(client.request("POST", "/heartbeat/flappy?status=fail").status == 200);
    REQUIRE(client.request("POST", "/heartbeat/flappy?status=ok").status == 200);
  }
  const auto history = body_of(client.request("GET", "/heartbeat/flappy/history"));
  REQUIRE(history["history"].size() == 3);
  // The last three changes, oldest first: up -> failing -> up -> ... ends with "up".
  CHECK(history["history"][2]["to"] == "up");
  CHECK(history["history"][1]["to"] == "failing");
  CHECK(history["history"][0]["from"] == "failing");
  CHECK(client.request("GET", "/heartbeat/nobody/history").status == 404);
  CHECK(client.request("POST", "/heartbeat/flappy/history").status == 405);

  auto none = TestServer::default_config();
  none.heartbeat.history_length = 0;
  TestServer quiet(none);
  auto other = quiet.connect();
  REQUIRE(other.request("POST", "/heartbeat/a?status=fail").status == 201);
  REQUIRE(other.request("POST", "/heartbeat/a").status == 200);
  CHECK(body_of(other.request("GET", "/heartbeat/a/history"))["history"].empty());
}

TEST_CASE("the event stream carries the new fields", "[integration][heartbeat][sse]") {
  TestServer server;
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/job?interval=300").status == 201);
  EventStreamReader reader(server);
  REQUIRE(reader.wait_for_event("snapshot"));
  REQUIRE(client.request("POST", "/heartbeat/job/pause").status == 200);
  const auto paused_change = [](const pulse::test::SseStream& stream) -> std::optional<json> {
    for (const auto& event : stream.events) {
      if (event.event != "change") continue;
      auto data = json::parse(event.data);
      if (data["client"]["state"] == "paused") return data;
    }
    return std::nullopt;
  };
  REQUIRE(reader.wait_for([&](const auto& stream) { return paused_change(stream).has_value(); }));
  const auto change = *paused_change(reader.stream());
  CHECK(change["previous"] == "up");
  CHECK(change["client"]["paused"] == true);
  for (const char* field : {"held", "running", "runs", "last_duration_ms", "exit_code", "log_bytes"}) {
    INFO(field);
    CHECK(change["client"].contains(field));
  }
}

TEST_CASE("/metrics: requests by signal, the run histogram, paused clients", "[integration][heartbeat][metrics]") {
  TestServer server;
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/job/start").status == 201);
  std::this_thread::sleep_for(kRunTime);
  REQUIRE(client.request("POST", "/heartbeat/job/0").status == 200);
  REQUIRE(client.request("POST", "/heartbeat/other").status == 201);
  REQUIRE(client.request("POST", "/heartbeat/other/pause").status == 200);
  REQUIRE(client.request("POST", "/heartbeat/ghost/pause").status == 404);

  const auto response = client.request("GET", "/metrics");
  REQUIRE(response.status == 200);
  INFO(response.body);
  const auto metrics = pulse::test::parse_prometheus_text(response.body);
  for (const auto& error : metrics.errors) FAIL_CHECK(error);
  CHECK(metrics.value("pulse_heartbeat_clients", {{"state", "paused"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_clients", {{"state", "up"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_signals_total", {{"signal", "start"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_signals_total", {{"signal", "exit"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_signals_total", {{"signal", "beat"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_signals_total", {{"signal", "pause"}}) == 1);  // the 404 is not counted
  CHECK(metrics.value("pulse_heartbeat_run_duration_seconds_bucket", {{"le", "1"}}) == 0);
  CHECK(metrics.value("pulse_heartbeat_run_duration_seconds_bucket", {{"le", "5"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_run_duration_seconds_bucket", {{"le", "+Inf"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_run_duration_seconds_count") == 1);
  CHECK(metrics.value("pulse_heartbeat_run_duration_seconds_sum").value_or(0) >= 1.1);
  CHECK(metrics.types.count("pulse_heartbeat_client_state") == 0);  // off by default
}

TEST_CASE("the flag --heartbeat-client-metrics: per-client series for at most N clients", "[integration][heartbeat][metrics]") {
  auto config = TestServer::default_config();
  config.heartbeat.client_metrics = 2;
  TestServer server(config);
  auto client = server.connect();
  for (const char* id : {"web-3", "web-1", "web-2"}) {
    REQUIRE(client.request("POST", fmt::format("/heartbeat/{}", id)).status == 201);
  }
  REQUIRE(client.request("POST", "/heartbeat/web-1/start").status == 200);
  REQUIRE(client.request("POST", "/heartbeat/web-1/3").status == 200);

  const auto response = client.request("GET", "/metrics");
  REQUIRE(response.status == 200);
  INFO(response.body);
  const auto metrics = pulse::test::parse_prometheus_text(response.body);
  for (const auto& error : metrics.errors) FAIL_CHECK(error);
  CHECK(metrics.value("pulse_heartbeat_client_state", {{"id", "web-1"}, {"state", "failing"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_client_state", {{"id", "web-2"}, {"state", "up"}}) == 1);
  CHECK_FALSE(metrics.value("pulse_heartbeat_client_state", {{"id", "web-3"}, {"state", "up"}}));
  CHECK(metrics.value("pulse_heartbeat_client_metrics_omitted") == 1);
  const auto beat_at = metrics.value("pulse_heartbeat_client_last_beat_timestamp_seconds", {{"id", "web-2"}});
  REQUIRE(beat_at);
  const auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(*beat_at > now - 60);
  CHECK(*beat_at <= now + 1);
  CHECK(metrics.value("pulse_heartbeat_client_last_duration_seconds", {{"id", "web-1"}}).has_value());
  CHECK_FALSE(metrics.value("pulse_heartbeat_client_last_duration_seconds", {{"id", "web-2"}}).has_value());
}

TEST_CASE("with the Redis store: runs, log, bounded history and per-client metrics off the event loop",
          "[integration][heartbeat][redis]") {
  pulse::test::RedisServer redis;
  auto config = TestServer::default_config();
  config.presence.redis = redis.parsed_url();
  config.heartbeat.history_length = 3;
  config.heartbeat.client_metrics = 1;
  TestServer server(config);
  auto client = server.connect();

  REQUIRE(client.request("POST", "/heartbeat/job/start?rid=r1&interval=60").status == 201);
  std::this_thread::sleep_for(kRunTime);
  const auto ended = client.request("POST", "/heartbeat/job/0?rid=r1", "copied 3 files\nok\n");
  REQUIRE(ended.status == 200);
  CHECK(body_of(ended)["duration_ms"].get<std::int64_t>() >= kRunTime.count());
  CHECK(client.request("GET", "/heartbeat/job/log").body == "copied 3 files\nok\n");
  const auto job = body_of(client.request("GET", "/heartbeat/job"));
  CHECK(job["msg"] == "copied 3 files");
  CHECK(job["exit_code"] == 0);
  CHECK(job["interval"] == 60);
  CHECK(newest_run(job)["duration_ms"] == body_of(ended)["duration_ms"]);

  REQUIRE(client.request("POST", "/heartbeat/flappy").status == 201);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(client.request("POST", "/heartbeat/flappy?status=fail").status == 200);
    REQUIRE(client.request("POST", "/heartbeat/flappy?status=ok").status == 200);
  }
  CHECK(body_of(client.request("GET", "/heartbeat/flappy/history"))["history"].size() == 3);
  CHECK(client.request("POST", "/heartbeat/nobody/pause").status == 404);

  const auto response = client.request("GET", "/metrics");
  REQUIRE(response.status == 200);
  INFO(response.body);
  const auto metrics = pulse::test::parse_prometheus_text(response.body);
  for (const auto& error : metrics.errors) FAIL_CHECK(error);
  // One client shown, the first by id; the other counted as left out.
  CHECK(metrics.value("pulse_heartbeat_client_state", {{"id", "flappy"}, {"state", "up"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_client_metrics_omitted") == 1);
  CHECK(metrics.value("pulse_heartbeat_run_duration_seconds_count") == 1);
  CHECK(metrics.value("pulse_heartbeat_signals_total", {{"signal", "exit"}}) == 1);
}
