// Badges over real sockets, the whole server in-process on 127.0.0.1: a client's badge and a
// group's, the ETag and 304 a browser or an image proxy revalidates with, HEAD, the 404 image of
// an unknown id, and a server with --read-token that guards badges like every other read.
#include <catch2/catch.hpp>
#include <string>

#include "support/test_server.hpp"

using pulse::test::TestServer;

TEST_CASE("badges over sockets: one client, a group, 304, HEAD, unknown", "[integration][heartbeat][badge]") {
  TestServer server;
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/web-1?interval=60").status == 201);
  REQUIRE(client.request("POST", "/heartbeat/web-2?interval=60&status=fail").status == 201);
  REQUIRE(client.request("POST", "/heartbeat/db-1?interval=60").status == 201);

  const auto badge = client.request("GET", "/heartbeat/web-1/badge.svg");
  REQUIRE(badge.status == 200);
  CHECK(badge.header("Content-Type") == "image/svg+xml");
  CHECK(badge.header("Cache-Control") == "max-age=10");
  CHECK(badge.body.starts_with("<svg "));
  CHECK(badge.body.find("web-1: up") != std::string::npos);
  const std::string etag(badge.header("ETag").value_or(""));
  REQUIRE_FALSE(etag.empty());

  // A beat that changes nothing shown keeps the tag: the revalidation is a 304 with no body.
  REQUIRE(client.request("POST", "/heartbeat/web-1?interval=60").status == 200);
  const auto cached = client.request("GET", "/heartbeat/web-1/badge.svg", {}, {{"If-None-Match", etag}});
  CHECK(cached.status == 304);
  CHECK(cached.body.empty());
  CHECK(cached.header("ETag") == etag);

  const auto head = client.request("HEAD", "/heartbeat/web-1/badge.svg");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.header("Content-Length") == std::to_string(badge.body.size()));
  CHECK(head.header("ETag") == etag);

  // The same connection still works after the HEAD and the 304.
  const auto group = client.request("GET", "/heartbeat/badge.svg?prefix=web-");
  REQUIRE(group.status == 200);
  CHECK(group.body.find("web: 1/2 up") != std::string::npos);
  CHECK(group.body.find("#c2410c") != std::string::npos);  // failing: the worst of the group
  CHECK(client.request("GET", "/heartbeat/badge.svg").body.find("clients: 2/3 up") != std::string::npos);

  REQUIRE(client.request("POST", "/heartbeat/web-2?interval=60&status=ok").status == 200);
  const auto recovered = client.request("GET", "/heartbeat/badge.svg?prefix=web-", {},
                                        {{"If-None-Match", std::string(group.header("ETag").value_or(""))}});
  CHECK(recovered.status == 200);
  CHECK(recovered.body.find("web: 2/2 up") != std::string::npos);

  const auto unknown = client.request("GET", "/heartbeat/nobody/badge.svg");
  CHECK(unknown.status == 404);
  CHECK(unknown.header("Content-Type") == "image/svg+xml");
  CHECK(unknown.body.find("nobody: unknown") != std::string::npos);

  CHECK(client.request("POST", "/heartbeat/badge.svg").status == 405);
  CHECK(client.request("GET", "/heartbeat/badge.svg?label=%3Cb%3E").body.find("&lt;b&gt;: 3/3 up") !=
        std::string::npos);
}

TEST_CASE("with --read-token a badge is a read like any other", "[integration][heartbeat][badge]") {
  auto config = TestServer::default_config();
  config.read_tokens = {"r-badge-1"};
  TestServer server(std::move(config));
  auto client = server.connect();
  REQUIRE(client.request("POST", "/heartbeat/web-1").status == 201);
  CHECK(client.request("GET", "/heartbeat/web-1/badge.svg").status == 401);
  const auto allowed = client.request("GET", "/heartbeat/web-1/badge.svg?token=r-badge-1");
  CHECK(allowed.status == 200);
  CHECK(allowed.body.find("web-1: up") != std::string::npos);
}
