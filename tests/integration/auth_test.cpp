// Bearer tokens over real sockets, the whole server in-process: a beat without the heartbeat
// token is 401 and creates nothing; with it, 201; the list, one client and /metrics need the read
// token; the event stream takes ?token=; /healthz and static files stay open.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::test::HttpClient;
using pulse::http::Header;
using pulse::test::TestServer;

namespace {

const std::string kWrite = "w-7f3a9c2e4b1d";
const std::string kRead = "r-5e8b0a6f2c9d";

std::vector<Header> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

pulse::app::Config with_tokens(std::vector<std::string> write, std::vector<std::string> read) {
  auto config = TestServer::default_config();
  config.heartbeat_tokens = std::move(write);
  config.read_tokens = std::move(read);
  return config;
}

// Reads until the stream's body holds `text`, or `timeout` passes. The chunked framing is left
// in: the events searched for are short enough never to straddle two chunks.
bool wait_for_text(HttpClient& client, std::string& received, const std::string& text,
                   std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (received.find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    received += client.read_available(100ms);
  }
  return true;
}

}  // namespace

TEST_CASE("with a heartbeat token, a beat without it is 401 and creates nothing", "[integration][auth]") {
  TestServer server(with_tokens({kWrite}, {kRead}));
  auto client = server.connect();

  const auto missing = client.request("POST", "/heartbeat/web-1?interval=60");
  CHECK(missing.status == 401);
  CHECK(missing.header("WWW-Authenticate") == "Bearer realm=\"pulse\"");
  CHECK(missing.header("Content-Type") == "application/json");
  CHECK(json::parse(missing.body)["error"] == "token_required");
  CHECK(missing.keep_alive);  // a refusal is an answer, not a protocol error

  const auto wrong = client.request("POST", "/heartbeat/web-1", {}, bearer("w-7f3a9c2e4b1e"));
  CHECK(wrong.status == 401);
  CHECK(wrong.header("WWW-Authenticate") == "Bearer realm=\"pulse\", error=\"invalid_token\"");
  CHECK(client.request("PUT", "/heartbeat/web-1", {}, bearer(kRead)).status == 401);  // read-only token
  CHECK(client.request("POST", "/heartbeat/web-1?token=" + kRead).status == 401);     // in the query too
  CHECK(client.request("POST", "/heartbeat/web-1", "msg=hi", bearer(kWrite + "x")).status == 401);

  // Nothing of it reached the registry.
  CHECK(client.request("GET", "/heartbeat/web-1", {}, bearer(kRead)).status == 404);
  CHECK(json::parse(client.request("GET", "/heartbeat", {}, bearer(kRead)).body)["total"] == 0);

  const auto created = client.request("POST", "/heartbeat/web-1?interval=60", {}, bearer(kWrite));
  CHECK(created.status == 201);
  CHECK(json::parse(created.body)["id"] == "web-1");
  CHECK(client.request("POST", "/heartbeat/web-1?interval=60&token=" + kWrite).status == 200);

  // A sign-off without the token leaves the client there.
  CHECK(client.request("DELETE", "/heartbeat/web-1").status == 401);
  CHECK(client.request("DELETE", "/heartbeat/web-1", {}, bearer(kRead)).status == 401);
  const auto still_there = client.request("GET", "/heartbeat/web-1", {}, bearer(kRead));
  REQUIRE(still_there.status == 200);
  CHECK(json::parse(still_there.body)["beats"] == 2);
  CHECK(client.request("DELETE", "/heartbeat/web-1", {}, bearer(kWrite)).status == 204);
  CHECK(client.request("GET", "/heartbeat/web-1", {}, bearer(kRead)).status == 404);
}

TEST_CASE("the list, one client and /metrics need the read token (or the heartbeat token)", "[integration][auth]") {
  TestServer server(with_tokens({kWrite}, {kRead}));
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/db-1", {}, bearer(kWrite)).status == 201);

  for (const std::string path : {"/heartbeat", "/heartbeat/db-1", "/metrics"}) {
    INFO(path);
    CHECK(client.request("GET", path).status == 401);
    CHECK(client.request("HEAD", path).status == 401);
    CHECK(client.request("GET", path, {}, bearer("r-5e8b0a6f2c9")).status == 401);  // a prefix
    CHECK(client.request("GET", path, {}, bearer(kRead)).status == 200);
    CHECK(client.request("GET", path, {}, bearer(kWrite)).status == 200);
    CHECK(client.request("GET", path + "?token=" + kRead).status == 200);
  }
  const auto list = client.request("GET", "/heartbeat", {}, {{"authorization", "bearer " + kRead}});
  REQUIRE(list.status == 200);
  CHECK(json::parse(list.body)["clients"][0]["id"] == "db-1");
  // Refusals are counted with their own label, so a dashboard can see someone guessing.
  const auto metrics = client.request("GET", "/metrics", {}, bearer(kRead));
  CHECK(metrics.body.find("pulse_http_requests_total{code=\"401\"} ") != std::string::npos);
  CHECK(metrics.body.find("pulse_http_requests_total{code=\"401\"} 0") == std::string::npos);
}

TEST_CASE("the event stream takes ?token= (EventSource cannot send headers)", "[integration][auth]") {
  TestServer server(with_tokens({kWrite}, {kRead}));

  auto refused = server.connect();
  const auto response = refused.request("GET", "/heartbeat/events", {}, {{"Accept", "text/event-stream"}});
  CHECK(response.status == 401);
  CHECK(response.header("Content-Type") == "application/json");
  CHECK(response.header("WWW-Authenticate").has_value());

  auto watcher = server.connect();
  watcher.send_raw("GET /heartbeat/events?token=" + kRead +
                   " HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n");
  std::string received;
  REQUIRE(wait_for_text(watcher, received, "event: snapshot\n"));
  CHECK(received.starts_with("HTTP/1.1 200 "));
  CHECK(received.find("Content-Type: text/event-stream") != std::string::npos);

  // A beat with the heartbeat token reaches the watcher as it happens.
  auto beater = server.connect();
  REQUIRE(beater.request("POST", "/heartbeat/cron-7?token=" + kWrite).status == 201);
  CHECK(wait_for_text(watcher, received, "event: join\n"));
  CHECK(received.find("cron-7") != std::string::npos);
}

TEST_CASE("/healthz and static files are never gated", "[integration][auth]") {
  TestServer server(with_tokens({kWrite}, {kRead}));
  server.docroot().write("index.html", "<h1>hello</h1>\n");
  server.docroot().write("live.js", "'use strict';\n");
  auto client = server.connect();
  CHECK(client.request("GET", "/healthz").status == 200);
  CHECK(client.request("GET", "/").status == 200);
  const auto script = client.request("GET", "/live.js");
  CHECK(script.status == 200);
  CHECK(script.body == "'use strict';\n");
  // A path that only starts like the API is a file, not the API.
  CHECK(client.request("GET", "/heartbeats.html").status == 404);
}

TEST_CASE("a heartbeat token alone leaves reads open", "[integration][auth]") {
  TestServer server(with_tokens({"old-token", "new-token"}, {}));
  auto client = server.connect();
  CHECK(client.request("POST", "/heartbeat/a").status == 401);
  CHECK(client.request("POST", "/heartbeat/a", {}, bearer("old-token")).status == 201);
  CHECK(client.request("POST", "/heartbeat/b", {}, bearer("new-token")).status == 201);
  CHECK(client.request("GET", "/heartbeat").status == 200);
  CHECK(client.request("GET", "/metrics").status == 200);
  auto watcher = server.connect();
  watcher.send_raw("GET /heartbeat/events HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string received;
  CHECK(wait_for_text(watcher, received, "event: snapshot\n"));
}
