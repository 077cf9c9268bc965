// CurlClient against tests/support/http_test_server.py, over HTTP and over HTTPS with a
// certificate the test makes and trusts with --cacert (CurlOptions::ca_file).
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "pulse/app/curl_client.hpp"
#include "pulse/base/unique_fd.hpp"
#include "support/http_test_server.hpp"

using namespace std::chrono_literals;
using pulse::app::CurlClient;
using pulse::app::CurlError;
using pulse::app::http_url;
using pulse::app::StreamEnd;
using pulse::test::HttpTestServer;
using pulse::test::TestCertificate;
using Json = nlohmann::json;

namespace {

// Sets (or, with nullopt, unsets) an environment variable for one test, and puts it back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// No proxy from the machine's environment between these tests and their local servers.
struct NoProxies {
  ScopedEnv a{"http_proxy", std::nullopt};
  ScopedEnv b{"https_proxy", std::nullopt};
  ScopedEnv c{"HTTPS_PROXY", std::nullopt};
  ScopedEnv d{"all_proxy", std::nullopt};
  ScopedEnv e{"ALL_PROXY", std::nullopt};
  ScopedEnv f{"no_proxy", std::nullopt};
  ScopedEnv g{"NO_PROXY", std::nullopt};
};

Json echo(CurlClient& client, const HttpTestServer& server, std::string_view method, std::string_view body = {},
          const std::vector<pulse::http::Header>& headers = {}) {
  const auto response = client.request(method, server.url("/echo"), body, headers);
  REQUIRE(response.status == 200);
  return Json::parse(response.body);
}

}  // namespace

TEST_CASE("http_url checks the scheme and appends path and query", "[curl]") {
  CHECK(http_url("http://127.0.0.1:8080/heartbeat/web-1") == "http://127.0.0.1:8080/heartbeat/web-1");
  CHECK(http_url("https://pulse.example/heartbeat/web-1") == "https://pulse.example/heartbeat/web-1");
  CHECK(http_url("HTTP://127.0.0.1/x").has_value());
  CHECK(http_url("http://127.0.0.1:8080/heartbeat/a", "/hold") == "http://127.0.0.1:8080/heartbeat/a/hold");
  CHECK(http_url("http://127.0.0.1:8080/heartbeat/a/", "/hold") == "http://127.0.0.1:8080/heartbeat/a/hold");
  CHECK(http_url("http://h/heartbeat/a?msg=x", "/hold") == "http://h/heartbeat/a/hold?msg=x");
  CHECK(http_url("http://h/heartbeat/a", {}, "interval=5&status=ok") == "http://h/heartbeat/a?interval=5&status=ok");
  CHECK(http_url("http://h/heartbeat/a?msg=x", {}, "interval=5") == "http://h/heartbeat/a?msg=x&interval=5");
  CHECK(http_url("http://[::1]:8080/x", "/hold") == "http://[::1]:8080/x/hold");
  CHECK_FALSE(http_url("ftp://h/x"));
  CHECK_FALSE(http_url("file:///etc/passwd"));
  CHECK_FALSE(http_url("127.0.0.1:8080/heartbeat/a"));  // no scheme: nothing is guessed
  CHECK_FALSE(http_url("http://"));
  CHECK_FALSE(http_url("http://h/a b"));
  CHECK_FALSE(http_url(""));
}

TEST_CASE("CurlClient sends methods, headers and bodies, and reads any status", "[curl]") {
  const NoProxies no_proxies;
  const HttpTestServer server;
  CurlClient client;

  const auto get = client.request("GET", server.url("/echo"), {}, {{"X-Beat", "1"}});
  REQUIRE(get.status == 200);
  CHECK(get.header("x-test") == "echo");
  const auto got = Json::parse(get.body);
  CHECK(got["method"] == "GET");
  CHECK(got["headers"]["x-beat"] == "1");
  CHECK(got["headers"]["user-agent"].get<std::string>().starts_with("pulsehttpd/"));

  // A POST without a body says Content-Length: 0 and claims no form.
  const auto empty_post = echo(client, server, "POST");
  CHECK(empty_post["method"] == "POST");
  CHECK(empty_post["headers"]["content-length"] == "0");
  CHECK_FALSE(empty_post["headers"].contains("content-type"));

  // A body larger than curl's Expect: 100-continue threshold goes at once: no Expect header, so
  // no second-long wait for a 100 Continue (a timing check here was only noise under TSan).
  const std::string log(2 * 1024 * 1024, 'x');
  const auto big_response = client.request("POST", server.url("/echo"), log, {{"Content-Type", "text/plain"}});
  REQUIRE(big_response.status == 200);
  const auto big_post = Json::parse(big_response.body);
  CHECK(big_post["body"].get<std::string>().size() == log.size());
  CHECK(big_post["headers"]["content-type"] == "text/plain");
  CHECK_FALSE(big_post["headers"].contains("expect"));

  const auto put = echo(client, server, "PUT", "line one\nline two");
  CHECK(put["method"] == "PUT");
  CHECK(put["body"] == "line one\nline two");
  const auto del = echo(client, server, "DELETE");
  CHECK(del["method"] == "DELETE");
  CHECK_FALSE(del["headers"].contains("content-length"));

  const auto head = client.request("HEAD", server.url("/echo"));
  CHECK(head.status == 200);
  CHECK(head.body.empty());

  const auto refused = client.request("POST", server.url("/status/503"));
  CHECK(refused.status == 503);
  CHECK(refused.body == "status 503\n");
  CHECK(client.request("GET", server.url("/nothing-here")).status == 404);
}

TEST_CASE("CurlClient keeps one connection across requests", "[curl]") {
  const NoProxies no_proxies;
  const HttpTestServer server;
  CurlClient client;
  for (int i = 0; i < 5; ++i) CHECK(echo(client, server, "POST")["connection"] == 1);
  CHECK(client.connections() == 1);
  // A second client is a second connection.
  CurlClient other;
  CHECK(echo(other, server, "GET")["connection"] == 2);
}

TEST_CASE("CurlClient gives up at its timeout, and says why when nobody listens", "[curl]") {
  const NoProxies no_proxies;
  const HttpTestServer server;
  CurlClient client({.timeout = 500ms});
  const auto started = std::chrono::steady_clock::now();
  try {
    (void)client.request("GET", server.url("/slow"));
    FAIL("a 3 s answer came within a 500 ms timeout");
  } catch (const CurlError& e) {
    CHECK_THAT(e.what(), Catch::Contains("timed out", Catch::CaseSensitive::No));
  }
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(took >= 450ms);
  CHECK(took < 2500ms);

  const auto port = pulse::test::free_local_port();
  try {
    (void)client.request("GET", "http://127.0.0.1:" + std::to_string(port) + "/");
    FAIL("a request to a closed port succeeded");
  } catch (const CurlError& e) {
    CHECK_THAT(e.what(), Catch::Contains("connect", Catch::CaseSensitive::No));
  }
}

TEST_CASE("CurlClient over HTTPS verifies the certificate, and --cacert trusts the test's own", "[curl]") {
  const NoProxies no_proxies;
  const TestCertificate certificate;
  const HttpTestServer server(&certificate);
  REQUIRE(server.url().starts_with("https://"));

  CurlClient trusting({.ca_file = certificate.cert().string()});
  for (int i = 0; i < 3; ++i) CHECK(echo(trusting, server, "POST", "over tls")["body"] == "over tls");
  CHECK(trusting.connections() == 1);  // the TLS connection is kept too
  // localhost is in the certificate's names as well.
  CHECK(trusting.request("GET", "https://localhost:" + std::to_string(server.port()) + "/echo").status == 200);

  // The system's CAs do not know a self-signed certificate: refused, not quietly accepted.
  CurlClient system_trust;
  try {
    (void)system_trust.request("GET", server.url("/echo"));
    FAIL("a self-signed certificate was accepted without --cacert");
  } catch (const CurlError& e) {
    CHECK_THAT(e.what(), Catch::Contains("certificate", Catch::CaseSensitive::No));
  }

  // A certificate trusted for other names does not pass for this one.
  const TestCertificate other;
  CurlClient wrong_ca({.ca_file = other.cert().string()});
  CHECK_THROWS_AS(wrong_ca.request("GET", server.url("/echo")), CurlError);
}

TEST_CASE("CurlClient takes proxies from the environment as curl does, loopback aside", "[curl]") {
  const NoProxies no_proxies;
  const HttpTestServer proxy;
  // .invalid never resolves (RFC 6761): only a proxy can answer for it.
  const std::string elsewhere = "http://pulse.invalid/echo";
  CurlClient direct;
  CHECK_THROWS_AS(direct.request("GET", elsewhere), CurlError);
  {
    const ScopedEnv via("http_proxy", proxy.url());
    CurlClient client;
    const auto response = client.request("GET", elsewhere);
    REQUIRE(response.status == 200);
    CHECK(Json::parse(response.body)["path"] == elsewhere);  // the absolute URL: a proxy request
    // no_proxy names the hosts that are reached directly.
    const ScopedEnv bypass("no_proxy", "pulse.invalid");
    CurlClient bypassing;
    CHECK_THROWS_AS(bypassing.request("GET", elsewhere), CurlError);
  }
  {
    // Loopback always goes direct: a proxy (here one that is not even there) would reach its
    // own, and `probe` checks this machine's server.
    const ScopedEnv dead("http_proxy", "http://127.0.0.1:" + std::to_string(pulse::test::free_local_port()));
    const HttpTestServer server;
    CurlClient client;
    CHECK(echo(client, server, "GET")["path"] == "/echo");
    CHECK(client.request("GET", "http://localhost:" + std::to_string(server.port()) + "/echo").status == 200);
  }
}

TEST_CASE("CurlClient streams a held response until the server drops it", "[curl]") {
  const NoProxies no_proxies;
  const HttpTestServer server(nullptr, {"--keepalive", "0.2", "--drop-after", "2"});
  CurlClient client;
  std::string received;
  std::uint64_t connection_seen = 0;
  const auto result = client.stream(server.url("/heartbeat/a/hold"), {}, 5s, -1, [&](std::string_view bytes) {
    received.append(bytes);
    connection_seen = client.connections();  // counted while it is still held
  });
  CHECK(connection_seen == 1);
  CHECK(result.end == StreamEnd::kClosed);
  CHECK(result.status == 200);
  CHECK(result.error.empty());
  CHECK(received == "event: held\ndata: {\"id\":\"test\",\"held\":true}\n\n: keep-alive\n\n: keep-alive\n\n");
  CHECK(client.connections() == 1);
}

TEST_CASE("CurlClient ends a silent stream at its idle timeout", "[curl]") {
  const NoProxies no_proxies;
  const HttpTestServer server(nullptr, {"--silent-first"});
  CurlClient client;
  std::string received;
  const auto started = std::chrono::steady_clock::now();
  const auto result = client.stream(server.url("/heartbeat/a/hold"), {}, 600ms, -1,
                                    [&](std::string_view bytes) { received.append(bytes); });
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(result.end == StreamEnd::kIdle);
  CHECK(received.starts_with("event: held\n"));
  CHECK(took >= 550ms);
  CHECK(took < 2500ms);
}

TEST_CASE("CurlClient stops a stream at once when the cancel descriptor is readable", "[curl]") {
  const NoProxies no_proxies;
  const HttpTestServer server(nullptr, {"--keepalive", "30"});
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pulse::base::UniqueFd read_end(pipe_fds[0]);
  const pulse::base::UniqueFd write_end(pipe_fds[1]);
  // Cancelled once the stream is under way (its first event in), bounded so nothing can hang.
  std::atomic<bool> streaming{false};
  std::atomic<std::int64_t> cancelled_at_ns{0};
  std::thread canceller([&] {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!streaming && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(5ms);
    cancelled_at_ns = std::chrono::steady_clock::now().time_since_epoch().count();
    (void)::write(write_end.get(), "x", 1);
  });
  CurlClient client;
  std::string received;
  const auto result = client.stream(server.url("/heartbeat/a/hold"), {}, 60s, read_end.get(),
                                    [&](std::string_view bytes) {
                                      received.append(bytes);
                                      if (received.find("\n\n") != std::string::npos) streaming = true;
                                    });
  const auto returned = std::chrono::steady_clock::now();
  canceller.join();
  CHECK(result.end == StreamEnd::kCancelled);
  CHECK(received.starts_with("event: held\n"));
  using Steady = std::chrono::steady_clock;
  const auto took = returned - Steady::time_point(Steady::duration(cancelled_at_ns.load()));
  CHECK(took < 900ms);  // from the cancel: not curl's once-a-second progress tick
}

TEST_CASE("CurlClient's stream reports refusals and errors without throwing", "[curl]") {
  const NoProxies no_proxies;
  const HttpTestServer server;
  CurlClient client;
  bool called = false;
  const auto refused = client.stream(server.url("/status/401"), {}, 5s, -1, [&](std::string_view) { called = true; });
  CHECK(refused.status == 401);
  CHECK(refused.body == "status 401\n");
  CHECK_FALSE(called);

  const auto nobody = "http://127.0.0.1:" + std::to_string(pulse::test::free_local_port()) + "/hold";
  const auto failed = client.stream(nobody, {}, 5s, -1, [&](std::string_view) { called = true; });
  CHECK(failed.end == StreamEnd::kClosed);
  CHECK(failed.status == 0);
  CHECK_FALSE(failed.error.empty());
  CHECK_FALSE(called);
}
