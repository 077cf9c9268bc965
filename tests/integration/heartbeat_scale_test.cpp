// The heartbeat surface at scale and against hostile watchers, over real sockets: 10,000 clients
// listed and streamed completely; 1,000 event streams that never read leave a normal watcher
// served and the server's memory bounded (they share one snapshot); one address cannot take
// every stream slot.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pulse/base/unique_fd.hpp"
#include "support/event_stream_reader.hpp"
#include "support/raw_socket.hpp"
#include "support/test_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::test::connect_from;
using pulse::test::EventStreamReader;
using pulse::test::TestServer;

namespace {

// Sanitizers make everything several times slower: the same shapes, smaller.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kClients = 2'000;
constexpr int kIdleStreams = 200;
#else
constexpr int kClients = 10'000;
constexpr int kIdleStreams = 1'000;
#endif
constexpr int kBatch = 200;          // beats pipelined per write
constexpr auto kSnapshotWait = 60s;  // generous: CI runs other tests beside this one

// Registers `count` ids over one connection, pipelining kBatch beats per write.
void beat_many(const TestServer& server, int count) {
  auto client = server.connect(30s);
  for (int first = 0; first < count; first += kBatch) {
    std::string batch;
    const int last = std::min(count, first + kBatch);
    for (int i = first; i < last; ++i) {
      batch +=
          fmt::format("POST /heartbeat/host-{:05}?interval=600 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", i);
    }
    client.send_raw(batch);
    for (int i = first; i < last; ++i) REQUIRE(client.read_response().status == 201);
  }
}

// Resident memory of this process (the server runs in it), in KiB.
long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// More descriptors than the default soft limit: both ends of every socket live in this process.
void raise_descriptor_limit() {
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  limit.rlim_cur = limit.rlim_max;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
}

// Sends a GET of the event stream and reads the status line.
int open_stream(int fd) {
  const std::string request = "GET /heartbeat/events HTTP/1.1\r\nHost: t\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char head[12] = {};
  std::size_t got = 0;
  while (got < sizeof head) {
    const auto n = ::recv(fd, head + got, sizeof head - got, 0);
    if (n <= 0) return -1;
    got += static_cast<std::size_t>(n);
  }
  return std::stoi(std::string(head + 9, 3));
}

}  // namespace

TEST_CASE("10,000 clients: the list and the event stream are complete and the stream stays open",
          "[integration][heartbeat][scale]") {
  TestServer server;
  beat_many(server, kClients);

  auto client = server.connect(30s);
  const auto listed = client.request("GET", "/heartbeat");
  REQUIRE(listed.status == 200);
  const auto document = json::parse(listed.body);
  CHECK(document["total"] == kClients);
  REQUIRE(document["clients"].size() == static_cast<std::size_t>(kClients));
  CHECK(document["clients"].front()["id"] == "host-00000");
  CHECK(document["clients"].back()["id"] == fmt::format("host-{:05}", kClients - 1));

  EventStreamReader watcher(server);
  REQUIRE(watcher.wait_for_event("snapshot", kSnapshotWait));
  const auto snapshot = json::parse(watcher.stream().events.front().data);
  CHECK(snapshot["clients"].size() == static_cast<std::size_t>(kClients));
  // Still open, and live: a change after the snapshot arrives on the same stream.
  REQUIRE(client.request("POST", "/heartbeat/late-joiner").status == 201);
  CHECK(watcher.wait_for_event("join", 5s));
}

TEST_CASE("1,000 event streams that never read: a normal watcher is served, memory stays bounded",
          "[integration][heartbeat][scale]") {
  raise_descriptor_limit();
  auto config = TestServer::default_config();
  config.heartbeat.streams.max_per_address = 2000;  // all of them come from 127.0.0.1 here
  TestServer server(config);
  beat_many(server, kClients);  // a snapshot of about 2.5 MB each stream is sent
  {
    auto warm = server.connect(30s);
    REQUIRE(warm.request("GET", "/heartbeat").status == 200);
  }

  const long before = resident_kib();
  std::vector<pulse::base::UniqueFd> idle;
  for (int i = 0; i < kIdleStreams; ++i) {
    idle.push_back(connect_from("127.0.0.1", server.port()));
    REQUIRE(open_stream(idle.back().get()) == 200);
  }
  std::this_thread::sleep_for(500ms);  // let every connection queue its snapshot
  const long after = resident_kib();
  INFO("resident before " << before << " KiB, after " << kIdleStreams << " unread streams " << after << " KiB");
  // Copied per stream, the snapshots (kClients x ~250 B each) would be gigabytes; shared, the
  // streams cost little.
  CHECK(after - before < 256 * 1024);

  EventStreamReader watcher(server);
  REQUIRE(watcher.wait_for_event("snapshot", kSnapshotWait));
  CHECK(json::parse(watcher.stream().events.front().data)["clients"].size() == static_cast<std::size_t>(kClients));
}

TEST_CASE("one address cannot take every event-stream slot", "[integration][heartbeat][sse]") {
  auto config = TestServer::default_config();
  config.heartbeat.streams.max_per_address = 4;
  TestServer server(config);
  std::vector<pulse::base::UniqueFd> greedy;
  for (int i = 0; i < 4; ++i) {
    greedy.push_back(connect_from("127.0.0.7", server.port()));
    REQUIRE(open_stream(greedy.back().get()) == 200);
  }
  auto refused = connect_from("127.0.0.7", server.port());
  CHECK(open_stream(refused.get()) == 503);
  auto other = connect_from("127.0.0.8", server.port());
  CHECK(open_stream(other.get()) == 200);
}
