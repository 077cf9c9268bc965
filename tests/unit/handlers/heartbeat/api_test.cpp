// The /heartbeat API with hand-made requests and a ManualClock: status codes, JSON bodies,
// validation messages, limits, filters, ETag/304, sign-off, and transitions over time.
#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pulse/handlers/heartbeat/service.hpp"
#include "pulse/handlers/heartbeat/api.hpp"
#include "pulse/http/deferred_response.hpp"
#include "pulse/http/response_stream.hpp"
#include "support/flaky_store.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::handlers::heartbeat::HeartbeatOptions;
using pulse::handlers::heartbeat::HeartbeatService;
using pulse::http::Header;
using pulse::http::Method;
using pulse::http::Request;
using pulse::http::Response;
using pulse::presence::ManualClock;

namespace {

// The service with a ManualClock and no sweeper thread: tests call sweep() after moving time.
struct Api {
  explicit Api(HeartbeatOptions options = {}) : service(std::move(options), clock), handler(service.api_handler()) {}

  Response send(Method method, std::string target, std::string body = {}, std::vector<Header> headers = {}) {
    Request request = Request::make(method, std::move(target));
    request.body = std::move(body);
    request.remote_addr = "192.0.2.1";
    for (auto& header : headers) request.headers.push_back(std::move(header));
    return handler->handle(request);
  }
  json get_json(std::string target) {
    const auto response = send(Method::kGet, std::move(target));
    REQUIRE(response.header("Content-Type") == "application/json");
    return json::parse(response.body_view());
  }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  HeartbeatService service;
  std::shared_ptr<pulse::http::Handler> handler;
};

json body_of(const Response& response) {
  return json::parse(response.body_view());
}

}  // namespace

TEST_CASE("a first beat answers 201, later ones 200", "[handlers][heartbeat]") {
  Api api;
  const auto first = api.send(Method::kPost, "/heartbeat/web-1");
  REQUIRE(first.status == 201);
  CHECK(first.header("Content-Type") == "application/json");
  CHECK(first.header("Location") == "/heartbeat/web-1");
  const auto created = body_of(first);
  CHECK(created["id"] == "web-1");
  CHECK(created["state"] == "up");
  CHECK(created["server_time"] == "2026-01-01T00:00:00.000Z");
  CHECK(created["next_due"] == "2026-01-01T00:00:30.000Z");  // the default interval: 30 s
  CHECK(created["down_at"] == "2026-01-01T00:00:45.000Z");   // plus half of it
  CHECK(created["beats"] == 1);

  api.clock->advance(10s);
  const auto second = api.send(Method::kPut, "/heartbeat/web-1");
  REQUIRE(second.status == 200);
  CHECK_FALSE(second.header("Location"));
  CHECK(body_of(second)["beats"] == 2);
  CHECK(body_of(second)["next_due"] == "2026-01-01T00:00:40.000Z");
}

TEST_CASE("beat parameters: interval, grace, status, msg", "[handlers][heartbeat]") {
  Api api;
  const auto response = api.send(Method::kPost, "/heartbeat/db?interval=60&grace=7&status=fail&msg=disk%20full");
  REQUIRE(response.status == 201);
  const auto beat = body_of(response);
  CHECK(beat["state"] == "failing");
  CHECK(beat["interval"] == 60);
  CHECK(beat["grace"] == 7);
  CHECK(beat["next_due"] == "2026-01-01T00:01:00.000Z");
  CHECK(beat["down_at"] == "2026-01-01T00:01:07.000Z");

  const auto client = api.get_json("/heartbeat/db");
  CHECK(client["msg"] == "disk full");
  CHECK(client["status"] == "fail");
  CHECK(client["remote_addr"] == "192.0.2.1");
  CHECK(client["last_ok"].is_null());

  api.clock->advance(1s);
  REQUIRE(api.send(Method::kPost, "/heartbeat/db?interval=60&status=ok&msg=fixed+now").status == 200);
  const auto fixed = api.get_json("/heartbeat/db");
  CHECK(fixed["state"] == "up");
  CHECK(fixed["msg"] == "fixed now");
  CHECK(fixed["last_ok"] == "2026-01-01T00:00:01.000Z");
}

TEST_CASE("a body's first line is the message, a form body carries parameters", "[handlers][heartbeat]") {
  Api api;
  REQUIRE(api.send(Method::kPost, "/heartbeat/a", "backup done in 42 s\n").status == 201);
  CHECK(api.get_json("/heartbeat/a")["msg"] == "backup done in 42 s");

  // What `curl -d "backup ok"` sends: form-typed, but not a form.
  const Header form_type{"Content-Type", "application/x-www-form-urlencoded"};
  api.clock->advance(1s);
  REQUIRE(api.send(Method::kPost, "/heartbeat/a", "backup ok", {form_type}).status == 200);
  CHECK(api.get_json("/heartbeat/a")["msg"] == "backup ok");

  // What `curl -d status=fail -d msg=disk+full` sends.
  api.clock->advance(1s);
  REQUIRE(api.send(Method::kPost, "/heartbeat/a", "status=fail&msg=disk+full", {form_type}).status == 200);
  const auto client = api.get_json("/heartbeat/a");
  CHECK(client["status"] == "fail");
  CHECK(client["msg"] == "disk full");

  // The query string wins over the body.
  api.clock->advance(1s);
  REQUIRE(api.send(Method::kPost, "/heartbeat/a?msg=from-query", "from body").status == 200);
  CHECK(api.get_json("/heartbeat/a")["msg"] == "from-query");

  // A long body is no longer refused: it is the log, and its first line, cut, the message.
  api.clock->advance(1s);
  const auto long_body = api.send(Method::kPost, "/heartbeat/a", std::string(300, 'x'));
  CHECK(long_body.status == 200);
  CHECK(api.get_json("/heartbeat/a")["msg"] == std::string(256, 'x'));
}

TEST_CASE("bad ids and parameters are 400s that say why", "[handlers][heartbeat]") {
  Api api;
  struct Case {
    std::string target;
    std::string error;
    std::string detail_part;
  };
  const Case cases[] = {
      {"/heartbeat/-lead", "invalid_id", "start with a letter or a digit"},
      {"/heartbeat/web%201", "invalid_id", "a space at position 4"},
      {"/heartbeat/a%2Fb", "invalid_id", "'/'"},
      {"/heartbeat/", "invalid_id", "empty"},
      {"/heartbeat/%zz", "invalid_id", "%-escape"},
      {"/heartbeat/" + std::string(65, 'x'), "invalid_id", "65 characters"},
      {"/heartbeat/a?interval=0", "invalid_interval", "1 to 2592000"},
      {"/heartbeat/a?interval=2592001", "invalid_interval", "seconds"},
      {"/heartbeat/a?interval=1.5", "invalid_interval", "whole number"},
      {"/heartbeat/a?interval=-5", "invalid_interval", "whole number"},
      {"/heartbeat/a?interval=99999999999999999999", "invalid_interval", "whole number"},
      {"/heartbeat/a?grace=0", "invalid_grace", "grace"},
      {"/heartbeat/a?status=maybe", "invalid_status", "ok or fail"},
      {"/heartbeat/a?msg=%C3%28", "invalid_msg", "UTF-8"},
      {"/heartbeat/a?msg=line%0Abreak", "invalid_msg", "control character"},
      {"/heartbeat/a?msg=" + std::string(257, 'm'), "invalid_msg", "257 bytes"},
      {"/heartbeat/a?interval=%zz", "invalid_query", "%-escape"},
      {"/heartbeat?state=%2", "invalid_query", "%-escape"},
  };
  for (const Case& c : cases) {
    INFO(c.target);
    const auto response = api.send(Method::kPost, c.target);
    CHECK(response.status == 400);
    const auto body = body_of(response);
    CHECK(body["error"] == c.error);
    CHECK_THAT(body["detail"].get<std::string>(), Catch::Contains(c.detail_part));
  }
  // Nothing was registered by any of them.
  CHECK(api.get_json("/heartbeat")["total"] == 0);
}

TEST_CASE("more than 10 beats a second from one id get 429", "[handlers][heartbeat]") {
  Api api;
  for (int i = 0; i < 10; ++i) REQUIRE(api.send(Method::kPost, "/heartbeat/eager").status / 100 == 2);
  const auto limited = api.send(Method::kPost, "/heartbeat/eager");
  CHECK(limited.status == 429);
  CHECK(limited.header("Retry-After") == "1");
  CHECK(body_of(limited)["error"] == "rate_limited");
  api.clock->advance(1s);
  CHECK(api.send(Method::kPost, "/heartbeat/eager").status == 200);
}

TEST_CASE("past the maximum, a new id gets 503 and known ids keep working", "[handlers][heartbeat]") {
  HeartbeatOptions options;
  options.max_clients = 2;
  Api api(options);
  REQUIRE(api.send(Method::kPost, "/heartbeat/a").status == 201);
  REQUIRE(api.send(Method::kPost, "/heartbeat/b").status == 201);
  const auto full = api.send(Method::kPost, "/heartbeat/c");
  CHECK(full.status == 503);
  CHECK(full.header("Retry-After") == "60");
  CHECK(body_of(full)["error"] == "registry_full");
  api.clock->advance(1s);
  CHECK(api.send(Method::kPost, "/heartbeat/a").status == 200);
  CHECK(api.send(Method::kGet, "/heartbeat/c").status == 404);
}

TEST_CASE("GET /heartbeat/{id} shows one client without touching it", "[handlers][heartbeat]") {
  Api api;
  REQUIRE(api.send(Method::kPost, "/heartbeat/a?interval=10").status == 201);
  api.clock->advance(3s);
  for (int i = 0; i < 3; ++i) {
    const auto client = api.get_json("/heartbeat/a");
    CHECK(client["beats"] == 1);
    CHECK(client["last_beat"] == "2026-01-01T00:00:00.000Z");
    CHECK(client["server_time"] == "2026-01-01T00:00:03.000Z");
  }
  const auto head = api.send(Method::kHead, "/heartbeat/a");
  CHECK(head.status == 200);

  const auto missing = api.send(Method::kGet, "/heartbeat/nobody");
  CHECK(missing.status == 404);
  CHECK(body_of(missing)["error"] == "not_found");
}

TEST_CASE("DELETE signs a client off: gone, not down", "[handlers][heartbeat]") {
  Api api;
  REQUIRE(api.send(Method::kPost, "/heartbeat/a").status == 201);
  REQUIRE(api.send(Method::kPost, "/heartbeat/b").status == 201);
  const auto removed = api.send(Method::kDelete, "/heartbeat/a");
  CHECK(removed.status == 204);
  CHECK(removed.body.empty());
  CHECK(api.send(Method::kGet, "/heartbeat/a").status == 404);
  CHECK(api.send(Method::kDelete, "/heartbeat/a").status == 404);

  const auto list = api.get_json("/heartbeat");
  CHECK(list["total"] == 1);
  CHECK(list["offline"] == 0);
  REQUIRE(list["clients"].size() == 1);
  CHECK(list["clients"][0]["id"] == "b");
}

TEST_CASE("the list: counts, sorting and filters", "[handlers][heartbeat]") {
  Api api;
  for (const char* id : {"web-2", "web-1", "db-1"})
    REQUIRE(api.send(Method::kPost, std::string("/heartbeat/") + id + "?interval=60").status == 201);
  REQUIRE(api.send(Method::kPost, "/heartbeat/cache?interval=5&grace=5").status == 201);
  REQUIRE(api.send(Method::kPost, "/heartbeat/batch?interval=60&status=fail").status == 201);
  api.clock->advance(6s);
  api.service.sweep();  // cache: late

  const auto all = api.get_json("/heartbeat");
  CHECK(all["server_time"] == "2026-01-01T00:00:06.000Z");
  CHECK(all["total"] == 5);
  CHECK(all["online"] == 5);
  CHECK(all["counts"] == json{{"up", 3}, {"late", 1}, {"down", 0}, {"failing", 1}, {"paused", 0}});
  std::vector<std::string> ids;
  for (const auto& client : all["clients"]) ids.push_back(client["id"]);
  CHECK(ids == std::vector<std::string>{"batch", "cache", "db-1", "web-1", "web-2"});

  auto ids_of = [&](const std::string& target) {
    std::vector<std::string> found;
    const auto list = api.get_json(target);
    for (const auto& client : list["clients"]) found.push_back(client["id"]);
    return found;
  };
  CHECK(ids_of("/heartbeat?state=late") == std::vector<std::string>{"cache"});
  CHECK(ids_of("/heartbeat?state=failing") == std::vector<std::string>{"batch"});
  CHECK(ids_of("/heartbeat?state=up,late") == std::vector<std::string>{"cache", "db-1", "web-1", "web-2"});
  CHECK(ids_of("/heartbeat?state=online").size() == 5);
  CHECK(ids_of("/heartbeat?state=offline").empty());
  CHECK(ids_of("/heartbeat?prefix=web-") == std::vector<std::string>{"web-1", "web-2"});
  CHECK(ids_of("/heartbeat?prefix=web-&state=late").empty());
  CHECK(api.get_json("/heartbeat?prefix=web-")["total"] == 5);  // counts stay registry-wide

  const auto bad = api.send(Method::kGet, "/heartbeat?state=asleep");
  CHECK(bad.status == 400);
  CHECK(body_of(bad)["error"] == "invalid_state");
}

TEST_CASE("the list's ETag changes only when something shown changes", "[handlers][heartbeat]") {
  Api api;
  REQUIRE(api.send(Method::kPost, "/heartbeat/a?interval=10&grace=5").status == 201);
  const auto first = api.send(Method::kGet, "/heartbeat");
  const auto etag = std::string(first.header("ETag").value_or(""));
  REQUIRE(etag.starts_with("W/\""));
  CHECK(first.header("Cache-Control") == "no-cache");

  // Unchanged: 304 with the same tag, no body; also when listed among others, or weakly.
  for (const std::string& condition : {etag, etag.substr(2), "\"other\", " + etag}) {
    INFO(condition);
    const auto cached = api.send(Method::kGet, "/heartbeat", {}, {{"If-None-Match", condition}});
    CHECK(cached.status == 304);
    CHECK(cached.body.empty());
    CHECK(cached.header("ETag") == etag);
  }
  // Time passing alone changes nothing shown (server_time aside: hence a weak tag).
  api.clock->advance(2s);
  api.service.sweep();
  CHECK(api.send(Method::kGet, "/heartbeat", {}, {{"If-None-Match", etag}}).status == 304);

  // A beat changes beats and last_beat: a new tag.
  REQUIRE(api.send(Method::kPost, "/heartbeat/a?interval=10&grace=5").status == 200);
  const auto after_beat = api.send(Method::kGet, "/heartbeat", {}, {{"If-None-Match", etag}});
  CHECK(after_beat.status == 200);
  const auto etag2 = std::string(after_beat.header("ETag").value_or(""));
  CHECK(etag2 != etag);

  // A transition: a new tag.
  api.clock->advance(11s);
  api.service.sweep();
  const auto after_transition = api.send(Method::kGet, "/heartbeat", {}, {{"If-None-Match", etag2}});
  CHECK(after_transition.status == 200);
  CHECK(body_of(after_transition)["clients"][0]["state"] == "late");

  // Another server (a restart) never matches an old tag: the tags differ in their epoch part.
  auto other_clock = std::make_shared<ManualClock>();
  other_clock->advance(1h);
  HeartbeatService other({}, other_clock);
  const auto epoch_of = [](const Response& response) {
    const std::string tag(response.header("ETag").value_or(""));
    return tag.substr(0, tag.find('-'));
  };
  CHECK(epoch_of(other.api_handler()->handle(Request::make(Method::kGet, "/heartbeat"))) !=
        epoch_of(api.send(Method::kGet, "/heartbeat")));
}

TEST_CASE("up -> late -> down over time, and back up with a beat", "[handlers][heartbeat]") {
  Api api;
  REQUIRE(api.send(Method::kPost, "/heartbeat/a?interval=10").status == 201);  // grace 5 s
  auto state = [&] { return api.get_json("/heartbeat/a")["state"].get<std::string>(); };
  api.clock->advance(9s);
  api.service.sweep();
  CHECK(state() == "up");
  api.clock->advance(1s);
  api.service.sweep();
  CHECK(state() == "late");
  CHECK(api.get_json("/heartbeat/a")["online"] == true);
  api.clock->advance(5s);
  api.service.sweep();
  CHECK(state() == "down");
  CHECK(api.get_json("/heartbeat/a")["online"] == false);
  CHECK(api.get_json("/heartbeat")["offline"] == 1);
  CHECK(api.send(Method::kPost, "/heartbeat/a?interval=10").status == 200);
  CHECK(state() == "up");
}

TEST_CASE("methods each path does not allow get 405 with Allow", "[handlers][heartbeat]") {
  Api api;
  struct Case {
    Method method;
    const char* target;
    const char* allow;
  };
  const Case cases[] = {
      {Method::kPost, "/heartbeat", "GET, HEAD"},
      {Method::kDelete, "/heartbeat", "GET, HEAD"},
      {Method::kPatch, "/heartbeat/a", "GET, HEAD, POST, PUT, DELETE"},
      {Method::kOptions, "/heartbeat/a", "GET, HEAD, POST, PUT, DELETE"},
      {Method::kPost, "/heartbeat/events", "GET, HEAD"},
      {Method::kDelete, "/heartbeat/events", "GET, HEAD"},
  };
  for (const Case& c : cases) {
    INFO(c.target);
    const auto response = api.send(c.method, c.target);
    CHECK(response.status == 405);
    CHECK(response.header("Allow") == c.allow);
    CHECK(body_of(response)["error"] == "method_not_allowed");
  }
  // "events" is the stream, never a client, however it is spelled.
  CHECK(api.send(Method::kPost, "/heartbeat/%65vents").status == 405);
}

TEST_CASE("the service's options reach the registry: default interval and retention", "[handlers][heartbeat]") {
  HeartbeatOptions options;
  options.default_interval = std::chrono::seconds(120);
  options.retention = std::chrono::minutes(1);
  Api api(options);
  REQUIRE(api.send(Method::kPost, "/heartbeat/quiet").status == 201);
  CHECK(api.get_json("/heartbeat/quiet")["interval"] == 120);
  // Down after 120 s + 60 s of grace, then forgotten once down for longer than a minute.
  api.clock->advance(std::chrono::seconds(181));
  api.service.sweep();
  CHECK(api.get_json("/heartbeat/quiet")["state"] == "down");
  api.clock->advance(std::chrono::seconds(61));
  api.service.sweep();
  CHECK(api.send(Method::kGet, "/heartbeat/quiet").status == 404);
}

TEST_CASE("the whole list is rendered once per version and shared by every request", "[handlers][heartbeat]") {
  Api api;
  REQUIRE(api.send(Method::kPost, "/heartbeat/a").status == 201);
  const auto first = api.send(Method::kGet, "/heartbeat");
  const auto second = api.send(Method::kGet, "/heartbeat");
  REQUIRE(first.shared_body);
  REQUIRE(second.shared_body);
  CHECK(first.shared_body->data == second.shared_body->data);  // one buffer, referenced twice
  CHECK(body_of(first)["clients"].size() == 1);

  REQUIRE(api.send(Method::kPost, "/heartbeat/b").status == 201);  // a new version
  const auto third = api.send(Method::kGet, "/heartbeat");
  CHECK(third.shared_body->data != first.shared_body->data);
  CHECK(body_of(third)["clients"].size() == 2);
  CHECK(third.header("ETag") != first.header("ETag"));

  api.clock->advance(2s);  // same version, but server_time must not stay old forever
  const auto later = api.send(Method::kGet, "/heartbeat");
  CHECK(later.shared_body->data != third.shared_body->data);
  CHECK(later.header("ETag") == third.header("ETag"));
  CHECK(body_of(later)["server_time"] != body_of(third)["server_time"]);
}

TEST_CASE("limit= and after= page through the list in id order", "[handlers][heartbeat]") {
  Api api;
  for (const char* id : {"d", "b", "e", "a", "c"})
    REQUIRE(api.send(Method::kPost, std::string("/heartbeat/") + id).status == 201);
  std::vector<std::string> seen;
  std::string target = "/heartbeat?limit=2";
  for (int page = 0; page < 5; ++page) {
    const auto document = api.get_json(target);
    CHECK(document["total"] == 5);  // the counts are over every client, whatever the page
    for (const auto& client : document["clients"]) seen.push_back(client["id"]);
    if (document["next_after"].is_null()) break;
    CHECK(document["clients"].size() == 2);
    target = "/heartbeat?limit=2&after=" + document["next_after"].get<std::string>();
  }
  CHECK(seen == std::vector<std::string>{"a", "b", "c", "d", "e"});

  CHECK(api.get_json("/heartbeat?after=c")["clients"].size() == 2);
  CHECK(api.get_json("/heartbeat?after=c")["next_after"].is_null());
  CHECK(api.get_json("/heartbeat?limit=10&prefix=b")["clients"].size() == 1);
  CHECK_FALSE(api.get_json("/heartbeat").contains("next_after"));  // the whole list, as before
  for (const char* bad : {"0", "-1", "x", "100001", ""}) {
    INFO(bad);
    const auto response = api.send(Method::kGet, std::string("/heartbeat?limit=") + bad);
    CHECK(response.status == 400);
    CHECK(body_of(response)["error"] == "invalid_limit");
  }
}

namespace {

// The response to `request`, waiting (bounded) for a deferred one to be completed.
Response answer(pulse::http::Handler& handler, const Request& request) {
  Response response = handler.handle(request);
  if (!response.deferred) return response;
  auto promise = std::make_shared<std::promise<Response>>();
  auto future = promise->get_future();
  response.deferred->attach([promise](Response completed) { promise->set_value(std::move(completed)); });
  response.deferred.reset();
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  return future.get();
}

Request beat_request(std::string target) {
  Request request = Request::make(Method::kPost, std::move(target));
  request.remote_addr = "192.0.2.1";
  return request;
}

}  // namespace

TEST_CASE("a store whose calls may block is asked on store threads, and the answer comes later",
          "[handlers][heartbeat][store]") {
  auto store = std::make_shared<pulse::testing::FlakyStore>(std::make_shared<ManualClock>());
  HeartbeatService service({}, store);
  const auto handler = service.api_handler();

  const Response deferred = handler->handle(beat_request("/heartbeat/web-1"));
  CHECK(deferred.deferred != nullptr);
  const Response created = answer(*handler, beat_request("/heartbeat/web-2"));
  CHECK(created.status == 201);
  CHECK(body_of(created)["id"] == "web-2");
  const Response listed = answer(*handler, Request::make(Method::kGet, "/heartbeat"));
  CHECK(listed.status == 200);
  CHECK(body_of(listed)["total"] == 2);

  const auto threads = store->call_threads();
  REQUIRE_FALSE(threads.empty());
  for (const auto& id : threads) CHECK(id != std::this_thread::get_id());

  // The event stream opens on a store thread too, and is handed over as the deferred answer.
  const Response events = answer(*handler, Request::make(Method::kGet, "/heartbeat/events"));
  REQUIRE(events.stream != nullptr);
  CHECK(events.stream->take().text().find("event: snapshot") != std::string::npos);
}

TEST_CASE("an unreachable store answers 503 with Retry-After and a JSON error, and records nothing",
          "[handlers][heartbeat][store]") {
  auto store = std::make_shared<pulse::testing::FlakyStore>(std::make_shared<ManualClock>());
  HeartbeatService service({}, store);
  const auto handler = service.api_handler();

  store->set_reachable(false);
  for (const auto& request : {beat_request("/heartbeat/db-1"), Request::make(Method::kGet, "/heartbeat"),
                              Request::make(Method::kGet, "/heartbeat/db-1"),
                              Request::make(Method::kDelete, "/heartbeat/db-1")}) {
    INFO(request.method_name << " " << request.target);
    const Response refused = answer(*handler, request);
    CHECK(refused.status == 503);
    CHECK(refused.header("Retry-After") == "2");
    CHECK(body_of(refused)["error"] == "store_unavailable");
  }
  CHECK(store->health().errors_total == 4);

  store->set_reachable(true);
  CHECK(answer(*handler, Request::make(Method::kGet, "/heartbeat/db-1")).status == 404);
  CHECK(answer(*handler, beat_request("/heartbeat/db-1")).status == 201);
}

TEST_CASE("a shared store refuses the embedded registry's state file", "[handlers][heartbeat][store]") {
  HeartbeatOptions options;
  options.state_file = "/tmp/never-written.json";
  auto store = std::make_shared<pulse::testing::FlakyStore>(std::make_shared<ManualClock>());
  CHECK_THROWS_AS(HeartbeatService(options, store), std::invalid_argument);
}

TEST_CASE("with many clients the whole list and the snapshot render off the worker, beats stay inline",
          "[handlers][heartbeat][render]") {
  Api api;
  const auto limit = pulse::handlers::heartbeat::kInlineRenderClients;
  for (std::size_t i = 0; i < limit; ++i) {
    REQUIRE(answer(*api.handler, beat_request("/heartbeat/host-" + std::to_string(i))).status == 201);
  }
  // At the threshold: answered on the calling thread, as every request to a small registry.
  const Response small = api.handler->handle(Request::make(Method::kGet, "/heartbeat"));
  CHECK(small.deferred == nullptr);
  CHECK(body_of(small)["total"] == limit);

  const Response beat = api.handler->handle(beat_request("/heartbeat/host-extra"));
  CHECK(beat.deferred == nullptr);
  CHECK(beat.status == 201);
  // Past it: the list and the event stream come later, from the render thread.
  const Response later = api.handler->handle(Request::make(Method::kGet, "/heartbeat"));
  CHECK(later.deferred != nullptr);
  const Response listed = answer(*api.handler, Request::make(Method::kGet, "/heartbeat"));
  CHECK(body_of(listed)["total"] == limit + 1);
  CHECK(body_of(listed)["clients"].size() == limit + 1);
  const Response events = answer(*api.handler, Request::make(Method::kGet, "/heartbeat/events"));
  REQUIRE(events.stream != nullptr);
  CHECK(events.stream->take().text().find("event: snapshot") != std::string::npos);
  // One client is still read inline: it is small whatever the registry holds.
  CHECK(api.handler->handle(Request::make(Method::kGet, "/heartbeat/host-1")).deferred == nullptr);
}
