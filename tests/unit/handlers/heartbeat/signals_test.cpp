// The job signals and the body as log, at the API's edge: what each path and parameter turns
// into (the BeatRequest the store receives), and how the store's answers come back (status
// codes, JSON, the log as text, the counters and histogram of /metrics). The store here records
// requests and forwards them to the embedded registry; it can also answer with canned results,
// so these tests hold whatever the store does with them (its own tests cover that).
#include <catch2/catch.hpp>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pulse/handlers/heartbeat/request_metrics.hpp"
#include "pulse/handlers/heartbeat/service.hpp"
#include "pulse/handlers/metrics.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/presence_registry.hpp"
#include "support/prometheus_text.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::handlers::heartbeat::HeartbeatOptions;
using pulse::handlers::heartbeat::HeartbeatService;
using pulse::http::Header;
using pulse::http::Method;
using pulse::http::Request;
using pulse::http::Response;
using pulse::presence::BeatOutcome;
using pulse::presence::BeatRequest;
using pulse::presence::ClientDetail;
using pulse::presence::Health;
using pulse::presence::ManualClock;
using pulse::presence::Signal;

namespace {

class RecordingStore final : public pulse::presence::PresenceStore {
 public:
  explicit RecordingStore(std::shared_ptr<const pulse::presence::Clock> clock) : inner_({}, std::move(clock)) {}

  // Canned answers, for the next beat() only.
  std::optional<BeatOutcome> next_outcome;
  std::optional<std::chrono::milliseconds> next_run_duration;
  // Replaces what detail() finds, for every call.
  std::optional<ClientDetail> canned_detail;

  [[nodiscard]] BeatRequest last() const {
    std::lock_guard lock(mutex_);
    REQUIRE_FALSE(requests_.empty());
    return requests_.back();
  }
  [[nodiscard]] std::size_t request_count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }

  [[nodiscard]] pulse::presence::Time now() const override { return inner_.now(); }
  [[nodiscard]] pulse::presence::BeatResult beat(const BeatRequest& request) override {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    if (next_outcome) {
      pulse::presence::BeatResult canned;
      canned.outcome = *std::exchange(next_outcome, std::nullopt);
      return canned;
    }
    auto result = inner_.beat(request);
    if (next_run_duration) result.run_duration = std::exchange(next_run_duration, std::nullopt);
    return result;
  }
  [[nodiscard]] std::optional<pulse::presence::ClientView> find(std::string_view id) const override {
    return inner_.find(id);
  }
  [[nodiscard]] std::optional<ClientDetail> detail(std::string_view id) const override {
    if (canned_detail && canned_detail->client.id == id) return canned_detail;
    return inner_.detail(id);
  }
  bool remove(std::string_view id) override { return inner_.remove(id); }
  [[nodiscard]] pulse::presence::Listing list(const pulse::presence::ListFilter& filter) const override {
    return inner_.list(filter);
  }
  std::vector<pulse::presence::PresenceEvent> tick() override { return inner_.tick(); }
  [[nodiscard]] std::optional<std::vector<pulse::presence::PresenceEvent>> events_after(
      std::uint64_t sequence) const override {
    return inner_.events_after(sequence);
  }
  [[nodiscard]] std::uint64_t last_sequence() const override { return inner_.last_sequence(); }
  [[nodiscard]] std::uint64_t version() const override { return inner_.version(); }
  [[nodiscard]] pulse::presence::StoreCounters counters() const override { return inner_.counters(); }
  [[nodiscard]] std::vector<pulse::presence::ClientView> take_beaten(std::size_t max) override {
    return inner_.take_beaten(max);
  }
  [[nodiscard]] std::vector<pulse::presence::ClientView> export_clients() const override {
    return inner_.export_clients();
  }
  std::size_t restore(const std::vector<pulse::presence::ClientView>& clients) override {
    return inner_.restore(clients);
  }

 private:
  pulse::presence::PresenceRegistry inner_;
  mutable std::mutex mutex_;
  std::vector<BeatRequest> requests_;  // guarded by mutex_
};

struct Api {
  Api() : service(HeartbeatOptions{}, store), handler(service.api_handler()) {}

  Response send(Method method, std::string target, std::string body = {}, std::vector<Header> headers = {}) {
    Request request = Request::make(method, std::move(target));
    request.body = std::move(body);
    request.remote_addr = "192.0.2.1";
    for (auto& header : headers) request.headers.push_back(std::move(header));
    return handler->handle(request);
  }
  // POSTs and returns what the store was asked, requiring a 2xx answer.
  BeatRequest signal(std::string target, std::string body = {}, std::vector<Header> headers = {}) {
    const auto response = send(Method::kPost, target, std::move(body), std::move(headers));
    INFO(target << " -> " << response.status << " " << response.body_view());
    REQUIRE(response.status / 100 == 2);
    return store->last();
  }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<RecordingStore> store = std::make_shared<RecordingStore>(clock);
  HeartbeatService service;
  std::shared_ptr<pulse::http::Handler> handler;
};

json body_of(const Response& response) {
  return json::parse(response.body_view());
}

}  // namespace

TEST_CASE("each path is its signal, with the health and exit status it implies", "[handlers][heartbeat][signals]") {
  Api api;
  const auto beat = api.signal("/heartbeat/job");
  CHECK(beat.id == "job");
  CHECK(beat.signal == Signal::kBeat);
  CHECK_FALSE(beat.health);  // "still alive" unless status= says more
  CHECK(beat.remote_addr == "192.0.2.1");

  CHECK(api.signal("/heartbeat/job?status=fail").health == Health::kFail);

  const auto start = api.signal("/heartbeat/job/start");
  CHECK(start.signal == Signal::kStart);
  CHECK_FALSE(start.health);

  const auto fail = api.signal("/heartbeat/job/fail");
  CHECK(fail.signal == Signal::kFail);

  const auto ok = api.signal("/heartbeat/job/ok");
  CHECK(ok.signal == Signal::kBeat);
  CHECK(ok.health == Health::kOk);

  const auto exit0 = api.signal("/heartbeat/job/0");
  CHECK(exit0.signal == Signal::kExit);
  CHECK(exit0.exit_code == 0);
  const auto exit3 = api.signal("/heartbeat/job/3");
  CHECK(exit3.exit_code == 3);
  CHECK(api.signal("/heartbeat/job/255").exit_code == 255);

  CHECK(api.signal("/heartbeat/job/pause").signal == Signal::kPause);
  // PUT works as POST does, as for a plain beat.
  CHECK(api.send(Method::kPut, "/heartbeat/job/start").status == 200);
  CHECK(api.store->last().signal == Signal::kStart);
}

TEST_CASE("settings are passed on only when given: the store keeps them", "[handlers][heartbeat][signals]") {
  Api api;
  const auto first = api.signal("/heartbeat/db?interval=5");
  CHECK(first.interval == 5s);
  CHECK_FALSE(first.grace);
  const auto bare = api.signal("/heartbeat/db?status=fail");
  CHECK_FALSE(bare.interval);
  CHECK_FALSE(bare.grace);
  const auto grace = api.signal("/heartbeat/db/start?grace=9");
  CHECK_FALSE(grace.interval);
  CHECK(grace.grace == 9s);
}

TEST_CASE("rid= names a run: validated like an id, empty means none", "[handlers][heartbeat][signals]") {
  Api api;
  CHECK(api.signal("/heartbeat/job/start?rid=run-1").run_id == "run-1");
  CHECK(api.signal("/heartbeat/job/0?rid=run-1").run_id == "run-1");
  CHECK(api.signal("/heartbeat/job/ok?rid=").run_id.empty());
  const Header form{"Content-Type", "application/x-www-form-urlencoded"};
  CHECK(api.signal("/heartbeat/job/fail", "rid=r2&msg=disk+full", {form}).run_id == "r2");

  const auto count = api.store->request_count();
  for (const char* target :
       {"/heartbeat/job/start?rid=run%201", "/heartbeat/job/start?rid=-x", "/heartbeat/job/ok?rid=a%2Fb"}) {
    INFO(target);
    const auto response = api.send(Method::kPost, target);
    CHECK(response.status == 400);
    CHECK(body_of(response)["error"] == "invalid_rid");
  }
  const auto long_rid = api.send(Method::kPost, "/heartbeat/job/start?rid=" + std::string(65, 'r'));
  CHECK(long_rid.status == 400);
  CHECK_THAT(body_of(long_rid)["detail"].get<std::string>(), Catch::Contains("65 characters"));
  CHECK(api.store->request_count() == count);  // none reached the store
}

TEST_CASE("bad signals are 400s and 405s that say why, and reach no store", "[handlers][heartbeat][signals]") {
  Api api;
  struct Case {
    Method method;
    std::string target;
    int status;
    std::string error;
  };
  const Case cases[] = {
      {Method::kPost, "/heartbeat/job/256", 400, "invalid_exit_status"},
      {Method::kPost, "/heartbeat/job/-1", 400, "invalid_exit_status"},
      {Method::kPost, "/heartbeat/job/1000", 400, "invalid_exit_status"},
      {Method::kPost, "/heartbeat/job/fail?status=ok", 400, "invalid_status"},
      {Method::kPost, "/heartbeat/job/3?status=fail", 400, "invalid_status"},
      {Method::kPost, "/heartbeat/job/ok?status=fail", 400, "invalid_status"},
      {Method::kPost, "/heartbeat/job/start?status=ok", 400, "invalid_status"},
      {Method::kPost, "/heartbeat/-job/start", 400, "invalid_id"},
      {Method::kPost, "/heartbeat/job/start?interval=0", 400, "invalid_interval"},
      {Method::kPost, "/heartbeat/job/stop", 404, "not_found"},
      {Method::kPost, "/heartbeat/job/start/now", 404, "not_found"},
      {Method::kGet, "/heartbeat/job/start", 405, "method_not_allowed"},
      {Method::kDelete, "/heartbeat/job/pause", 405, "method_not_allowed"},
      {Method::kPost, "/heartbeat/job/history", 405, "method_not_allowed"},
      {Method::kPut, "/heartbeat/job/log", 405, "method_not_allowed"},
  };
  for (const auto& c : cases) {
    INFO(c.target);
    const auto response = api.send(c.method, c.target);
    CHECK(response.status == c.status);
    CHECK(body_of(response)["error"] == c.error);
  }
  CHECK(api.send(Method::kGet, "/heartbeat/job/start").header("Allow") == "POST, PUT");
  CHECK(api.send(Method::kPost, "/heartbeat/job/log").header("Allow") == "GET, HEAD");
  CHECK(api.store->request_count() == 0);
}

TEST_CASE("a body is the log, its first line the message unless msg= is given", "[handlers][heartbeat][signals]") {
  Api api;
  const auto plain = api.signal("/heartbeat/backup/0", "backup done in 42 s\n3 files\n");
  CHECK(plain.log == "backup done in 42 s\n3 files\n");
  CHECK(plain.message == "backup done in 42 s");

  const auto with_msg = api.signal("/heartbeat/backup/ok?msg=summary", "the whole\nlog\n");
  CHECK(with_msg.message == "summary");
  CHECK(with_msg.log == "the whole\nlog\n");

  // No body: the last log stays (unset), the message is empty (replaced).
  const auto bare = api.signal("/heartbeat/backup");
  CHECK_FALSE(bare.log);
  CHECK(bare.message.empty());

  // A form body is parameters, not a log.
  const Header form{"Content-Type", "application/x-www-form-urlencoded"};
  const auto fields = api.signal("/heartbeat/backup", "status=fail&msg=disk+full", {form});
  CHECK_FALSE(fields.log);
  CHECK(fields.message == "disk full");
  CHECK(fields.health == Health::kFail);
  // Form-typed but not a form (curl -d "text"): a log.
  CHECK(api.signal("/heartbeat/backup", "backup ok", {form}).log == "backup ok");

  // Bigger than 10 KiB: accepted and cut, on a UTF-8 boundary.
  constexpr auto kMax = pulse::presence::kMaxLogBytes;
  const std::string big = std::string(kMax - 1, 'a') + "\xE2\x82\xAC" + std::string(5000, 'b');
  const auto cut = api.signal("/heartbeat/backup", big);
  REQUIRE(cut.log);
  CHECK(*cut.log == std::string(kMax - 1, 'a'));
  CHECK(cut.message == std::string(pulse::presence::kMaxMessageBytes, 'a'));

  // A first line that is no message leaves it empty; the beat still counts.
  const auto escape = api.signal("/heartbeat/backup", "\x1B[1mbold\x1B[0m\nrest\n");
  CHECK(escape.message.empty());
  CHECK(escape.log == "\x1B[1mbold\x1B[0m\nrest\n");
  // msg= given and bad is still refused.
  CHECK(api.send(Method::kPost, "/heartbeat/backup?msg=%1B", "log").status == 400);
}

TEST_CASE("pausing an unknown client is a 404, the answer to a signal carries the run's duration",
          "[handlers][heartbeat][signals]") {
  Api api;
  api.store->next_outcome = BeatOutcome::kNotFound;
  const auto unknown = api.send(Method::kPost, "/heartbeat/nobody/pause");
  CHECK(unknown.status == 404);
  CHECK(body_of(unknown)["error"] == "not_found");
  CHECK_THAT(body_of(unknown)["detail"].get<std::string>(), Catch::Contains("paused"));

  api.store->next_outcome = BeatOutcome::kRateLimited;
  CHECK(api.send(Method::kPost, "/heartbeat/job/pause").status == 429);

  REQUIRE(api.send(Method::kPost, "/heartbeat/job/start").status == 201);
  api.store->next_run_duration = 1500ms;
  const auto ended = api.send(Method::kPost, "/heartbeat/job/0");
  REQUIRE(ended.status == 200);
  CHECK(body_of(ended)["duration_ms"] == 1500);
  const auto plain = api.send(Method::kPost, "/heartbeat/job");
  CHECK(body_of(plain)["duration_ms"].is_null());
  CHECK(body_of(plain).contains("running"));
  CHECK(body_of(plain).contains("paused"));
}

TEST_CASE("show, history and log read the store's detail", "[handlers][heartbeat][signals]") {
  Api api;
  CHECK(api.send(Method::kGet, "/heartbeat/ghost/history").status == 404);
  CHECK(api.send(Method::kGet, "/heartbeat/ghost/log").status == 404);

  REQUIRE(api.send(Method::kPost, "/heartbeat/job").status == 201);
  const auto base = api.store->detail("job");
  REQUIRE(base);
  ClientDetail detail = *base;
  detail.log = "line 1\nline \xE2\x82\xAC\n";
  detail.client.log_bytes = detail.log.size();
  const auto at = api.clock->now();
  detail.history = {
      {.at = at,
       .kind = pulse::presence::HistoryKind::kChange,
       .from = std::nullopt,
       .to = pulse::presence::ClientState::kUp},
      {.at = at + 2s,
       .kind = pulse::presence::HistoryKind::kRun,
       .result = Health::kFail,
       .exit_code = 3,
       .duration = 2000ms},
  };

  // No log yet: 204.
  const auto none = api.send(Method::kGet, "/heartbeat/job/log");
  CHECK(none.status == 204);
  CHECK(none.body_view().empty());

  api.store->canned_detail = detail;
  const auto log = api.send(Method::kGet, "/heartbeat/job/log");
  CHECK(log.status == 200);
  CHECK(log.header("Content-Type") == "text/plain; charset=utf-8");
  CHECK(log.body_view() == detail.log);
  // A client's bytes on the live page's origin: never sniffed into HTML, never run if opened.
  CHECK(log.header("X-Content-Type-Options") == "nosniff");
  CHECK(log.header("Content-Security-Policy") == "default-src 'none'");
  const auto head = api.send(Method::kHead, "/heartbeat/job/log");
  CHECK(head.status == 200);
  CHECK(head.header("X-Content-Type-Options") == "nosniff");
  CHECK(head.header("Content-Security-Policy") == "default-src 'none'");

  const auto history = api.send(Method::kGet, "/heartbeat/job/history");
  REQUIRE(history.status == 200);
  const auto document = body_of(history);
  CHECK(document["id"] == "job");
  CHECK(document["server_time"] == "2026-01-01T00:00:00.000Z");
  REQUIRE(document["history"].size() == 2);
  CHECK(document["history"][0] ==
        json{{"at", "2026-01-01T00:00:00.000Z"}, {"kind", "change"}, {"from", nullptr}, {"to", "up"}});
  CHECK(document["history"][1] == json{{"at", "2026-01-01T00:00:02.000Z"},
                                       {"kind", "run"},
                                       {"result", "fail"},
                                       {"exit_code", 3},
                                       {"duration_ms", 2000}});

  const auto show = body_of(api.send(Method::kGet, "/heartbeat/job"));
  CHECK(show["id"] == "job");
  CHECK(show["log"] == detail.log);
  CHECK(show["log_bytes"] == detail.log.size());
  CHECK(show["history"] == document["history"]);
  CHECK(show.contains("server_time"));

  api.store->canned_detail.reset();
  CHECK(body_of(api.send(Method::kGet, "/heartbeat/job"))["log"].is_null());
}

TEST_CASE("badge.svg and hold are routes, never client ids or signals", "[handlers][heartbeat][signals]") {
  Api api;
  // Whichever handler serves them (badge.cpp, hold.cpp), a POST to them is no beat.
  for (const char* target : {"/heartbeat/badge.svg", "/heartbeat/job/badge.svg", "/heartbeat/job/hold"}) {
    INFO(target);
    CHECK(api.send(Method::kPost, target).status / 100 == 4);
  }
  CHECK(api.store->request_count() == 0);
  CHECK_FALSE(api.store->find("badge.svg"));
  CHECK(api.send(Method::kGet, "/heartbeat/badge.svg/history").status == 404);
}

TEST_CASE("/metrics counts requests by signal and histograms the runs they ended", "[handlers][heartbeat][signals]") {
  Api api;
  pulse::http::ServerStats stats;
  pulse::handlers::MetricsOptions options;
  options.requests = api.service.request_metrics();
  const auto metrics = std::make_shared<pulse::handlers::MetricsHandler>(api.service.store(),
                                                                         api.service.event_streams(), stats, options);
  REQUIRE(api.send(Method::kPost, "/heartbeat/job/start").status == 201);
  api.store->next_run_duration = 500ms;
  REQUIRE(api.send(Method::kPost, "/heartbeat/job/0").status == 200);
  api.clock->advance(1s);
  api.store->next_run_duration = 90s;
  REQUIRE(api.send(Method::kPost, "/heartbeat/job/fail").status == 200);
  api.clock->advance(1s);
  api.store->next_run_duration = std::chrono::hours(48);
  REQUIRE(api.send(Method::kPost, "/heartbeat/job/ok").status == 200);
  api.store->next_outcome = BeatOutcome::kNotFound;
  REQUIRE(api.send(Method::kPost, "/heartbeat/other/pause").status == 404);  // not recorded: not counted

  const auto text = metrics->handle(Request::make(Method::kGet, "/metrics")).body;
  INFO(text);
  const auto parsed = pulse::test::parse_prometheus_text(text);
  for (const auto& error : parsed.errors) FAIL_CHECK(error);
  CHECK(parsed.types.at("pulse_heartbeat_run_duration_seconds") == "histogram");
  CHECK(parsed.value("pulse_heartbeat_signals_total", {{"signal", "start"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_signals_total", {{"signal", "exit"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_signals_total", {{"signal", "fail"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_signals_total", {{"signal", "beat"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_signals_total", {{"signal", "pause"}}) == 0);
  CHECK(parsed.value("pulse_heartbeat_signals_total", {{"signal", "release"}}) == 0);
  const auto bucket = [&](const char* le) {
    return parsed.value("pulse_heartbeat_run_duration_seconds_bucket", {{"le", le}});
  };
  CHECK(bucket("1") == 1);
  CHECK(bucket("60") == 1);
  CHECK(bucket("300") == 2);
  CHECK(bucket("86400") == 2);
  CHECK(bucket("+Inf") == 3);
  CHECK(parsed.value("pulse_heartbeat_run_duration_seconds_count") == 3);
  CHECK(parsed.value("pulse_heartbeat_run_duration_seconds_sum") == Approx(0.5 + 90 + 48 * 3600));
  // No per-client series unless asked for.
  CHECK(parsed.types.count("pulse_heartbeat_client_state") == 0);
}
