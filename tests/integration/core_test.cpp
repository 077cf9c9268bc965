// The HTTP core over real sockets: keep-alive rules, pipelining, timeouts, limits, shutdown.
// The server runs in-process on an ephemeral 127.0.0.1 port.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/test_server.hpp"

using namespace std::chrono_literals;
using pulse::test::ClientResponse;
using pulse::test::HttpClient;
using pulse::test::TestServer;

namespace {

const std::string kHealth11 = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

// Waits (bounded) for the first bytes of an answer on `fd`: the response is then in flight.
bool answer_started(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 5000) == 1 && (p.revents & POLLIN) != 0;
}

}  // namespace

TEST_CASE("HTTP/1.0 closes after the response", "[integration][keepalive]") {
  TestServer server;
  auto client = server.connect();
  client.send_raw("GET /healthz HTTP/1.0\r\n\r\n");
  const auto response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == "ok\n");
  CHECK(response.header("Connection") == "close");
  CHECK(response.header("Date").has_value());
  CHECK(response.header("Server").value_or("").find("pulsehttpd/") == 0);
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("HTTP/1.0 with Connection: keep-alive stays open", "[integration][keepalive]") {
  TestServer server;
  auto client = server.connect();
  for (int i = 0; i < 3; ++i) {
    client.send_raw("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const auto response = client.read_response();
    CHECK(response.status == 200);
    CHECK(response.header("Connection") == "keep-alive");
  }
  CHECK_FALSE(client.wait_for_close(200ms));
}

TEST_CASE("HTTP/1.1 is persistent until Connection: close", "[integration][keepalive]") {
  TestServer server;
  auto client = server.connect();
  for (int i = 0; i < 5; ++i) {
    const auto response = client.request("GET", "/healthz");
    CHECK(response.status == 200);
    CHECK_FALSE(response.header("Connection").has_value());
  }
  const auto last = client.request("GET", "/healthz", {}, {{"Connection", "close"}});
  CHECK(last.header("Connection") == "close");
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("100 pipelined requests in one send are answered in order", "[integration][pipelining]") {
  TestServer server;
  auto client = server.connect();
  // A pattern of statuses only the right order reproduces: 200 (GET), 404 (unknown path),
  // 405 (POST to /healthz), and HEAD (200 without body).
  std::string batch;
  std::vector<int> expected;
  std::vector<bool> head;
  for (int i = 0; i < 100; ++i) {
    switch (i % 4) {
      case 0:
        batch += kHealth11;
        expected.push_back(200);
        head.push_back(false);
        break;
      case 1:
        batch += "GET /missing-" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
        expected.push_back(404);
        head.push_back(false);
        break;
      case 2:
        batch += "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi";
        expected.push_back(405);
        head.push_back(false);
        break;
      default:
        batch += "HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
        expected.push_back(200);
        head.push_back(true);
        break;
    }
  }
  client.send_raw(batch);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("response " << i);
    const auto response = client.read_response(head[i]);
    CHECK(response.status == expected[i]);
    if (head[i]) {
      CHECK(response.body.empty());
      CHECK(response.header("Content-Length") == "3");
    }
  }
  // Still open and usable after the pipeline.
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("a request sent one byte at a time is answered", "[integration][parsing]") {
  TestServer server;
  auto client = server.connect();
  for (const char c : kHealth11) {
    client.send_raw(std::string(1, c));
    std::this_thread::sleep_for(1ms);
  }
  const auto response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == "ok\n");
}

TEST_CASE("an idle keep-alive connection is closed after the timeout", "[integration][timeouts]") {
  auto config = TestServer::default_config();
  config.limits.keepalive_timeout = 300ms;
  TestServer server(config);
  auto client = server.connect();
  const auto start = std::chrono::steady_clock::now();  // the server's clock starts at its answer, later
  CHECK(client.request("GET", "/healthz").status == 200);
  CHECK(client.wait_for_close(5s));
  CHECK(std::chrono::steady_clock::now() - start >= 290ms);  // not before the timeout
}

TEST_CASE("a slow header sender is cut at the header timeout while others are served", "[integration][timeouts]") {
  auto config = TestServer::default_config();
  config.limits.header_timeout = 1000ms;  // room for three other clients even on a slow machine
  config.threads = 1;  // the slow client and the others share one event loop
  TestServer server(config);
  auto slow = server.connect();
  slow.send_raw("GET /healthz HTTP/1.1\r\nHost: t\r\n");
  const auto start = std::chrono::steady_clock::now();
  bool cut = false;
  int served = 0;
  // Trickle one header line every 100 ms (progress must not extend the deadline) while
  // another client is served normally.
  for (int i = 0; i < 40 && !cut; ++i) {
    try {
      slow.send_raw("X-Drip-" + std::to_string(i) + ": 1\r\n");
    } catch (const std::exception&) {
      cut = true;  // reset after the server closed
      break;
    }
    auto other = server.connect();
    if (other.request("GET", "/healthz").status == 200) ++served;
    std::this_thread::sleep_for(100ms);
    const auto got = slow.read_available(1ms);
    if (got.find("408") != std::string::npos) cut = true;
  }
  CHECK(cut);
  CHECK(served >= 3);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("an oversized header gets 431 and the next client is served", "[integration][limits]") {
  auto config = TestServer::default_config();
  config.limits.max_header_bytes = 1024;
  TestServer server(config);
  auto client = server.connect();
  client.send_raw("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4096, 'x') + "\r\n\r\n");
  const auto response = client.read_response();
  CHECK(response.status == 431);
  CHECK(response.header("Connection") == "close");
  CHECK(client.wait_for_close(2s));
  auto next = server.connect();
  CHECK(next.request("GET", "/healthz").status == 200);
}

TEST_CASE("protocol errors get their status and a closed connection", "[integration][errors]") {
  auto config = TestServer::default_config();
  config.limits.max_uri_bytes = 128;
  config.limits.max_body_bytes = 16;
  TestServer server(config);
  const std::vector<std::pair<std::string, int>> cases = {
      {"GET /healthz HTTP/1.1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
      {"BREW / HTTP/1.1\r\nHost: t\r\n\r\n", 501},
      {"GET /" + std::string(200, 'u') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
      {"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\n", 413},
  };
  for (const auto& [raw, status] : cases) {
    INFO(raw.substr(0, 40));
    auto client = server.connect();
    client.send_raw(raw);
    const auto response = client.read_response();
    CHECK(response.status == status);
    CHECK(response.header("Connection") == "close");
    CHECK(client.wait_for_close(2s));
  }
}

TEST_CASE("Expect: 100-continue gets 100 before the body", "[integration][expect]") {
  TestServer server;
  auto client = server.connect();
  client.send_raw("POST /healthz HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  const auto interim = client.read_response();
  CHECK(interim.status == 100);
  client.send_raw("hello");
  CHECK(client.read_response().status == 405);
}

TEST_CASE("the connection closes after --max-requests-per-connection", "[integration][keepalive]") {
  auto config = TestServer::default_config();
  config.limits.max_requests_per_connection = 3;
  TestServer server(config);
  auto client = server.connect();
  CHECK_FALSE(client.request("GET", "/healthz").header("Connection").has_value());
  CHECK_FALSE(client.request("GET", "/healthz").header("Connection").has_value());
  CHECK(client.request("GET", "/healthz").header("Connection") == "close");
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("connections over --max-connections are refused with 503", "[integration][limits]") {
  auto config = TestServer::default_config();
  config.limits.max_connections = 2;
  TestServer server(config);
  auto a = server.connect();
  auto b = server.connect();
  CHECK(a.request("GET", "/healthz").status == 200);
  CHECK(b.request("GET", "/healthz").status == 200);
  auto c = server.connect();
  const auto refused = c.read_response();
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
  CHECK(a.request("GET", "/healthz").status == 200);
}

TEST_CASE("a client that half-closes after its request still gets the response", "[integration][keepalive]") {
  TestServer server;
  auto client = server.connect();
  client.send_raw(kHealth11);
  ::shutdown(client.fd(), SHUT_WR);
  const auto response = client.read_response();
  CHECK(response.status == 200);
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("stop() lets a response in flight complete, then run() returns 0", "[integration][shutdown]") {
  TestServer server;
  // A body far larger than the socket buffers, so it is still being written when stop() comes.
  const std::string big(16 * 1024 * 1024, 'z');
  server.docroot().write("big.bin", big);
  auto client = server.connect(10s);
  client.send_raw("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(answer_started(client.fd()));  // the server is writing; the buffers fill behind it
  auto stopped = std::async(std::launch::async, [&] { return server.stop(); });
  const auto response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.body.size() == big.size());
  CHECK(response.body == big);
  CHECK(stopped.get() == 0);
}

TEST_CASE("stop() closes idle keep-alive connections", "[integration][shutdown]") {
  TestServer server;
  auto client = server.connect();
  CHECK(client.request("GET", "/healthz").status == 200);
  CHECK(server.stop() == 0);
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("back-pressure: a client that pipelines without reading still gets every response in order",
          "[integration][pipelining]") {
  TestServer server;
  // 64 KiB files (sendfile) and /healthz (in memory), interleaved: far more output than the
  // high-water mark, so parsing pauses and must resume as the client drains.
  std::string file(64 * 1024, 'f');
  for (std::size_t i = 0; i < file.size(); i += 97) file[i] = static_cast<char>('a' + (i / 97) % 26);
  server.docroot().write("f.bin", file);
  constexpr int kRequests = 400;
  std::string batch;
  for (int i = 0; i < kRequests; ++i) {
    batch += (i % 2 == 0) ? "GET /f.bin HTTP/1.1\r\nHost: t\r\n\r\n" : kHealth11;
  }
  auto client = server.connect(20s);
  client.send_raw(batch);
  std::this_thread::sleep_for(300ms);  // let the server hit the high-water mark
  for (int i = 0; i < kRequests; ++i) {
    INFO("response " << i);
    const auto response = client.read_response();
    REQUIRE(response.status == 200);
    if (i % 2 == 0) {
      REQUIRE(response.body == file);
    } else {
      REQUIRE(response.body == "ok\n");
    }
  }
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("back-pressure with only in-memory responses resumes without new socket events",
          "[integration][pipelining]") {
  auto config = TestServer::default_config();
  config.limits.max_requests_per_connection = 0;  // more requests than the default limit
  TestServer server(config);
  constexpr int kRequests = 20'000;  // ~3 MiB of responses: several high-water marks' worth
  std::string batch;
  batch.reserve(kRequests * kHealth11.size());
  for (int i = 0; i < kRequests; ++i) batch += kHealth11;
  auto client = server.connect(20s);
  // Send from another thread: the server stops reading while paused, so a blocking send of the
  // whole batch would wait on us reading.
  std::string send_error;
  std::thread sender([&] {
    try {
      client.send_raw(batch);
    } catch (const std::exception& e) {
      send_error = e.what();
    }
  });
  int ok = 0;
  std::string read_error;
  try {
    for (int i = 0; i < kRequests; ++i) {
      const auto response = client.read_response();
      if (response.status == 200 && response.body == "ok\n") ++ok;
    }
  } catch (const std::exception& e) {
    read_error = e.what();
  }
  sender.join();
  CHECK(send_error.empty());
  CHECK(read_error.empty());
  CHECK(ok == kRequests);
}

TEST_CASE("an event stream is not cut after its headers for HTTP/1.0 or Connection: close", "[integration][streams]") {
  TestServer server;
  for (const std::string raw : {"GET /heartbeat/events HTTP/1.0\r\n\r\n",
                                "GET /heartbeat/events HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"}) {
    INFO(raw);
    auto client = server.connect();
    client.send_raw(raw);
    const auto got = client.read_available(1500ms);
    CHECK(got.find("200 OK") != std::string::npos);
    CHECK(got.find("event: snapshot") != std::string::npos);
    CHECK_FALSE(client.wait_for_close(300ms));  // still streaming
  }
}

TEST_CASE("HEAD of an event stream: GET's headers, no Content-Length, connection reusable", "[integration][streams]") {
  TestServer server;
  auto client = server.connect();
  const auto head = client.request("HEAD", "/heartbeat/events");
  CHECK(head.status == 200);
  CHECK_FALSE(head.header("Content-Length").has_value());
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("an Upgrade request is answered as HTTP/1.1 and the connection stays usable", "[integration][keepalive]") {
  TestServer server;
  auto client = server.connect();
  client.send_raw("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" + kHealth11);
  CHECK(client.read_response().status == 200);
  CHECK(client.read_response().status == 200);
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("Connection on two header lines counts as one list", "[integration][keepalive]") {
  TestServer server;
  auto client = server.connect();
  client.send_raw("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n");
  const auto response = client.read_response();
  CHECK(response.header("Connection") == "close");
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("HTTP/1.0 with Transfer-Encoding closes after the response even if asked to keep alive",
          "[integration][keepalive]") {
  TestServer server;
  auto client = server.connect();
  client.send_raw(
      "POST /healthz HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
  const auto response = client.read_response();
  CHECK(response.header("Connection") == "close");
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("the keep-alive idle time starts when a long response is out, not at the request",
          "[integration][timeouts]") {
  auto config = TestServer::default_config();
  config.limits.keepalive_timeout = 400ms;
  TestServer server(config);
  server.docroot().write("big.bin", std::string(8 * 1024 * 1024, 'b'));
  auto client = server.connect(10s);
  client.send_raw("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(800ms);  // the response takes longer than the idle timeout
  CHECK(client.read_response().body.size() == 8 * 1024 * 1024);
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("empty lines do not keep an idle connection alive", "[integration][timeouts]") {
  auto config = TestServer::default_config();
  config.limits.keepalive_timeout = 400ms;
  config.limits.header_timeout = 400ms;
  TestServer server(config);
  auto client = server.connect();
  CHECK(client.request("GET", "/healthz").status == 200);
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {
    try {
      client.send_raw("\r\n");
    } catch (const std::exception&) {
      closed = true;
      break;
    }
    closed = client.wait_for_close(100ms);
  }
  CHECK(closed);
}

TEST_CASE("a long pipeline followed by a half-close is answered and closed promptly", "[integration][pipelining]") {
  TestServer server;
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += kHealth11;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto client = server.connect(10s);
    client.send_raw(batch);
    ::shutdown(client.fd(), SHUT_WR);
    int ok = 0;
    for (int i = 0; i < 1000; ++i) ok += client.read_response().status == 200 ? 1 : 0;
    CHECK(ok == 1000);
    CHECK(client.wait_for_close(3s));
  }
}

TEST_CASE("stop() closes a keep-alive connection once its in-flight response is out", "[integration][shutdown]") {
  auto config = TestServer::default_config();
  config.limits.shutdown_timeout = 20s;
  TestServer server(config);
  server.docroot().write("big.bin", std::string(8 * 1024 * 1024, 's'));
  auto client = server.connect(10s);
  client.send_raw("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(answer_started(client.fd()));
  const auto start = std::chrono::steady_clock::now();
  auto stopped = std::async(std::launch::async, [&] { return server.stop(); });
  CHECK(client.read_response().body.size() == 8 * 1024 * 1024);
  CHECK(client.wait_for_close(5s));
  CHECK(stopped.get() == 0);
  // Well inside the 20 s grace period: nothing waited for the grace timer.
  CHECK(std::chrono::steady_clock::now() - start < 10s);
}
