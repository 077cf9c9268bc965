// The heartbeat feature over real sockets, the whole server in-process on 127.0.0.1: beats from
// 1,000 ids on 8 connections, the list, filters, ETag 304, DELETE, server-sent events (snapshot,
// transitions, resume from Last-Event-ID), /metrics as Prometheus text, and the state file
// across a restart. Waits are bounded and poll for a condition; nothing asserts on speed.
#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/prometheus_text.hpp"
#include "support/sse.hpp"
#include "support/event_stream_reader.hpp"
#include "support/test_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::test::ClientResponse;
using pulse::test::HttpClient;
using pulse::test::EventStreamReader;
using pulse::test::TestServer;

namespace {

constexpr int kConnections = 8;
constexpr int kIds = 1000;

json body_of(const ClientResponse& response) {
  return json::parse(response.body);
}

// The first event named `name` (about `client_id`, if given).
std::optional<pulse::test::SseEvent> find_event(const pulse::test::SseStream& stream, const std::string& name,
                                                const std::string& client_id = {}) {
  for (const auto& event : stream.events) {
    if (event.event != name) continue;
    if (client_id.empty()) return event;
    const auto data = json::parse(event.data);
    const auto id = data.contains("client") ? data["client"]["id"] : data["id"];
    if (id == client_id) return event;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("1,000 ids beating on 8 connections: every beat counted, listed, filtered", "[integration][heartbeat]") {
  TestServer server;
  // Each connection beats its 125 ids twice. Catch2 is not thread-safe: threads record, the test asserts.
  std::vector<std::vector<int>> statuses(kConnections);
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&server, &statuses, c] {
      try {
        auto client = server.connect();
        for (int round = 0; round < 2; ++round) {
          for (int i = c; i < kIds; i += kConnections) {
            const auto target = fmt::format("/heartbeat/conn{}-id{}?interval=300", c, i);
            statuses[static_cast<std::size_t>(c)].push_back(client.request("POST", target).status);
          }
        }
      } catch (const std::exception&) {
        statuses[static_cast<std::size_t>(c)].push_back(-1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  int created = 0;
  int updated = 0;
  for (const auto& per_connection : statuses) {
    for (const int status : per_connection) {
      if (status == 201) ++created;
      if (status == 200) ++updated;
    }
  }
  CHECK(created == kIds);
  CHECK(updated == kIds);

  auto client = server.connect();
  const auto list = client.request("GET", "/heartbeat");
  REQUIRE(list.status == 200);
  CHECK(list.header("Content-Type") == "application/json");
  const auto all = body_of(list);
  CHECK(all["total"] == kIds);
  CHECK(all["counts"]["up"] == kIds);
  REQUIRE(all["clients"].size() == static_cast<std::size_t>(kIds));
  for (const auto& entry : all["clients"]) {
    INFO(entry["id"]);
    CHECK(entry["beats"] == 2);
    CHECK(entry["remote_addr"] == "127.0.0.1");
  }

  const auto conn3 = body_of(client.request("GET", "/heartbeat?prefix=conn3-"));
  CHECK(conn3["clients"].size() == static_cast<std::size_t>(kIds / kConnections));
  CHECK(body_of(client.request("GET", "/heartbeat?state=late"))["clients"].empty());
  std::size_t expected_conn0_id8 = 0;  // conn0 beats ids 0, 8, 16, ...: those whose number starts with 8
  for (int i = 0; i < kIds; i += kConnections) expected_conn0_id8 += std::to_string(i).starts_with('8') ? 1 : 0;
  CHECK(body_of(client.request("GET", "/heartbeat?state=up&prefix=conn0-id8"))["clients"].size() == expected_conn0_id8);
  CHECK(client.request("GET", "/heartbeat?state=nope").status == 400);

  // ETag: 304 while nothing changes, a new tag once something does.
  const std::string etag(list.header("ETag").value_or(""));
  REQUIRE_FALSE(etag.empty());
  const auto cached = client.request("GET", "/heartbeat", {}, {{"If-None-Match", etag}});
  CHECK(cached.status == 304);
  CHECK(cached.body.empty());

  CHECK(client.request("DELETE", "/heartbeat/conn0-id0").status == 204);
  CHECK(client.request("GET", "/heartbeat/conn0-id0").status == 404);
  const auto after_delete = client.request("GET", "/heartbeat", {}, {{"If-None-Match", etag}});
  CHECK(after_delete.status == 200);
  CHECK(after_delete.header("ETag") != etag);
  CHECK(body_of(after_delete)["total"] == kIds - 1);

  const auto one = client.request("GET", "/heartbeat/conn1-id1");
  REQUIRE(one.status == 200);
  CHECK(body_of(one)["beats"] == 2);
}

TEST_CASE("server-sent events: snapshot, changes as they happen, resume", "[integration][heartbeat][sse]") {
  TestServer server;
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/before?interval=300").status == 201);

  EventStreamReader first(server);
  REQUIRE(first.wait_for_event("snapshot"));
  CHECK(first.head().starts_with("HTTP/1.1 200"));
  CHECK(first.head().find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(first.head().find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(first.stream().retry == "3000");
  const auto snapshot = find_event(first.stream(), "snapshot");
  REQUIRE(snapshot);
  REQUIRE(snapshot->id);
  CHECK(json::parse(snapshot->data)["clients"][0]["id"] == "before");

  // A new client, then a transition by status, then one by time (1 s interval, 1 s grace).
  REQUIRE(client.request("POST", "/heartbeat/watched?interval=1&grace=1").status == 201);
  REQUIRE(first.wait_for_event("join"));
  const std::string join_id = *find_event(first.stream(), "join", "watched")->id;
  REQUIRE(client.request("POST", "/heartbeat/watched?interval=1&grace=1&status=fail").status == 200);
  REQUIRE(first.wait_for([](const auto& stream) { return find_event(stream, "change", "watched").has_value(); }));
  const auto failing = json::parse(find_event(first.stream(), "change", "watched")->data);
  CHECK(failing["previous"] == "up");
  CHECK(failing["client"]["state"] == "failing");

  auto states_of_watched = [](const pulse::test::SseStream& stream) {
    std::vector<std::string> states;
    for (const auto& event : stream.events) {
      if (event.event != "change") continue;
      const auto data = json::parse(event.data);
      if (data["client"]["id"] == "watched") states.push_back(data["client"]["state"]);
    }
    return states;
  };
  REQUIRE(first.wait_for([&](const auto& stream) { return states_of_watched(stream).size() >= 3; }, 10s));
  CHECK(states_of_watched(first.stream()) == std::vector<std::string>{"failing", "late", "down"});

  // Ids strictly increase.
  std::uint64_t previous = 0;
  for (const auto& event : first.stream().events) {
    if (!event.id) continue;
    const auto id = std::stoull(*event.id);
    CHECK(id > previous);
    previous = id;
  }

  // A reconnect with Last-Event-ID gets what came after that id, without a snapshot.
  EventStreamReader second(server, join_id);
  REQUIRE(second.wait_for([&](const auto& stream) { return states_of_watched(stream).size() >= 3; }));
  CHECK_FALSE(find_event(second.stream(), "snapshot"));
  CHECK_FALSE(find_event(second.stream(), "join"));
  CHECK(states_of_watched(second.stream()) == std::vector<std::string>{"failing", "late", "down"});

  // Signing off reaches both streams.
  REQUIRE(client.request("DELETE", "/heartbeat/watched").status == 204);
  CHECK(first.wait_for_event("leave"));
  CHECK(second.wait_for_event("leave"));
  const auto leave = json::parse(find_event(second.stream(), "leave")->data);
  CHECK(leave["id"] == "watched");
  CHECK(leave["reason"] == "signed_off");

  // Shutdown ends open streams with the final chunk, within the grace period.
  server.stop();
  CHECK(first.wait_for_end(5s));
}

TEST_CASE("/metrics parses as Prometheus text and follows the traffic", "[integration][heartbeat][metrics]") {
  TestServer server;
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/a").status == 201);
  REQUIRE(client.request("POST", "/heartbeat/b?status=fail").status == 201);
  REQUIRE(client.request("GET", "/heartbeat/nobody").status == 404);

  const auto response = client.request("GET", "/metrics");
  REQUIRE(response.status == 200);
  CHECK(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  const auto metrics = pulse::test::parse_prometheus_text(response.body);
  for (const auto& error : metrics.errors) FAIL_CHECK(error);
  CHECK(metrics.value("pulse_heartbeat_clients", {{"state", "up"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_clients", {{"state", "failing"}}) == 1);
  CHECK(metrics.value("pulse_heartbeat_clients", {{"state", "down"}}) == 0);
  CHECK(metrics.value("pulse_heartbeat_beats_total") == 2);
  CHECK(metrics.value("pulse_http_requests_total", {{"code", "201"}}) == 2);
  CHECK(metrics.value("pulse_http_requests_total", {{"code", "404"}}) == 1);
  CHECK(metrics.value("pulse_http_open_connections").value_or(0) >= 1);
  CHECK(metrics.value("pulse_http_connections_total").value_or(0) >= 1);
  CHECK(metrics.value("pulse_http_bytes_sent_total").value_or(0) > 0);
}

TEST_CASE("the state file keeps clients across a restart", "[integration][heartbeat][state]") {
  pulse::test::TempDir dir;
  const auto state_file = dir.path() / "heartbeat.json";
  auto config = TestServer::default_config();
  config.heartbeat.state_file = state_file;
  {
    TestServer server(config);
    auto client = server.connect();
    REQUIRE(client.request("POST", "/heartbeat/web?interval=60&msg=first+run").status == 201);
    REQUIRE(client.request("POST", "/heartbeat/db?interval=60&status=fail").status == 201);
    REQUIRE(client.request("PUT", "/heartbeat/web?interval=60&msg=first+run").status == 200);
    REQUIRE(server.stop() == 0);
  }
  REQUIRE(std::filesystem::exists(state_file));

  TestServer server(config);
  auto client = server.connect();
  const auto web = client.request("GET", "/heartbeat/web");
  REQUIRE(web.status == 200);
  CHECK(body_of(web)["state"] == "up");
  CHECK(body_of(web)["beats"] == 2);
  CHECK(body_of(web)["msg"] == "first run");
  const auto db = client.request("GET", "/heartbeat/db");
  REQUIRE(db.status == 200);
  CHECK(body_of(db)["state"] == "failing");
  CHECK(body_of(client.request("GET", "/heartbeat"))["total"] == 2);
}

TEST_CASE("a corrupt state file is reported and the server starts empty", "[integration][heartbeat][state]") {
  pulse::test::TempDir dir;
  auto config = TestServer::default_config();
  config.heartbeat.state_file = dir.write("heartbeat.json", "{ this is not json");
  TestServer server(config);
  auto client = server.connect();
  CHECK(body_of(client.request("GET", "/heartbeat"))["total"] == 0);
  REQUIRE(client.request("POST", "/heartbeat/a").status == 201);
  REQUIRE(server.stop() == 0);
  // The next save replaced the corrupt file with a good one.
  std::ifstream in(*config.heartbeat.state_file);
  const auto saved = json::parse(in);
  CHECK(saved["clients"].size() == 1);
}
