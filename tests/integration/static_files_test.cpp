// Static files over real sockets, the whole server in-process on an ephemeral 127.0.0.1 port:
// byte-exact bodies, HEAD, ranges, 304s, redirects, listings, escapes, resets, truncation, and
// files changed on disk while cached.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace std::chrono_literals;
using pulse::test::ClientResponse;
using pulse::test::HttpClient;
using pulse::test::TempDir;
using pulse::test::TestServer;

namespace {

constexpr std::size_t kFiveMiB = 5 * 1024 * 1024;

// FNV-1a, 64-bit: enough to tell two 5 MiB bodies apart.
std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string random_bytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 generator(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(generator() & 0xff);
  return bytes;
}

std::string header_of(const ClientResponse& response, std::string_view name) {
  const auto value = response.header(name);
  return value ? std::string(*value) : std::string("<absent>");
}

// A sparse file of `size` bytes: large, yet costs no disk.
void make_sparse(const std::filesystem::path& path, std::uint64_t size) {
  std::filesystem::create_directories(path.parent_path());
  { std::ofstream touch(path, std::ios::binary); }
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(size)) == 0);
}

pulse::app::Config config_with(bool autoindex = false) {
  auto config = TestServer::default_config();
  config.static_files.autoindex = autoindex;
  config.static_files.cache_control = "public, max-age=60";
  return config;
}

}  // namespace

TEST_CASE("a 5 MiB file arrives byte-exact", "[integration][static]") {
  TestServer server(config_with());
  const std::string content = random_bytes(kFiveMiB, 2026);
  server.docroot().write("big/random.bin", content);

  auto client = server.connect(30s);
  const auto response = client.request("GET", "/big/random.bin");
  REQUIRE(response.status == 200);
  CHECK(header_of(response, "Content-Length") == std::to_string(kFiveMiB));
  CHECK(header_of(response, "Content-Type") == "application/octet-stream");
  REQUIRE(response.body.size() == content.size());
  CHECK(fnv1a(response.body) == fnv1a(content));

  // The connection is still usable after a sendfile body.
  const auto again = client.request("GET", "/big/random.bin", {}, {{"Range", "bytes=-16"}});
  CHECK(again.status == 206);
  CHECK(again.body == content.substr(content.size() - 16));
}

TEST_CASE("HEAD gets GET's headers and no body", "[integration][static]") {
  TestServer server(config_with());
  server.docroot().write("page.html", "<!doctype html><h1>hello</h1>\n");
  auto client = server.connect();
  const auto get = client.request("GET", "/page.html");
  client.send_raw("HEAD /page.html HTTP/1.1\r\nHost: t\r\n\r\n");
  const auto head = client.read_response(/*head_request=*/true);
  CHECK(head.status == get.status);
  CHECK(head.body.empty());
  for (const auto* name :
       {"Content-Length", "Content-Type", "ETag", "Last-Modified", "Accept-Ranges", "Cache-Control"}) {
    INFO(name);
    CHECK(header_of(head, name) != "<absent>");
    CHECK(header_of(head, name) == header_of(get, name));
  }
  // The next response on the same connection parses: HEAD sent no stray body bytes.
  CHECK(client.request("GET", "/page.html").body == get.body);
}

TEST_CASE("byte ranges over the wire", "[integration][static]") {
  TestServer server(config_with());
  const std::string content = random_bytes(1000, 7);
  server.docroot().write("data.bin", content);
  auto client = server.connect();

  auto response = client.request("GET", "/data.bin", {}, {{"Range", "bytes=0-99"}});
  CHECK(response.status == 206);
  CHECK(header_of(response, "Content-Range") == "bytes 0-99/1000");
  CHECK(header_of(response, "Content-Length") == "100");
  CHECK(response.body == content.substr(0, 100));

  response = client.request("GET", "/data.bin", {}, {{"Range", "bytes=900-"}});
  CHECK(response.status == 206);
  CHECK(response.body == content.substr(900));

  response = client.request("GET", "/data.bin", {}, {{"Range", "bytes=-10"}});
  CHECK(response.status == 206);
  CHECK(response.body == content.substr(990));

  response = client.request("GET", "/data.bin", {}, {{"Range", "bytes=5000-"}});
  CHECK(response.status == 416);
  CHECK(header_of(response, "Content-Range") == "bytes */1000");

  response = client.request("GET", "/data.bin", {}, {{"Range", "bytes=0-1,5-6"}});
  CHECK(response.status == 200);
  CHECK(response.body == content);

  const auto etag = header_of(client.request("GET", "/data.bin"), "ETag");
  response = client.request("GET", "/data.bin", {}, {{"Range", "bytes=0-9"}, {"If-Range", etag}});
  CHECK(response.status == 206);
  response = client.request("GET", "/data.bin", {}, {{"Range", "bytes=0-9"}, {"If-Range", "\"old\""}});
  CHECK(response.status == 200);
  CHECK(response.body.size() == 1000);
}

TEST_CASE("a range past 4 GiB is sent from the right offset", "[integration][static]") {
  TestServer server(config_with());
  const auto path = server.docroot().path() / "huge.bin";
  constexpr std::uint64_t kSize = (4ULL << 30) + 4096;
  make_sparse(path, kSize);
  const std::string marker = "pulse-marker-past-4GiB";
  constexpr std::uint64_t kAt = (4ULL << 30) + 100;
  {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(static_cast<std::streamoff>(kAt));
    file.write(marker.data(), static_cast<std::streamsize>(marker.size()));
  }
  auto client = server.connect();
  const auto range = "bytes=" + std::to_string(kAt) + "-" + std::to_string(kAt + marker.size() - 1);
  const auto response = client.request("GET", "/huge.bin", {}, {{"Range", range}});
  CHECK(response.status == 206);
  CHECK(response.body == marker);
  CHECK(header_of(response, "Content-Range") ==
        "bytes " + std::to_string(kAt) + "-" + std::to_string(kAt + marker.size() - 1) + "/" + std::to_string(kSize));

  client.send_raw("HEAD /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(header_of(client.read_response(true), "Content-Length") == std::to_string(kSize));
}

TEST_CASE("conditional requests get 304 with no body", "[integration][static]") {
  TestServer server(config_with());
  server.docroot().write("style.css", "body { color: red; }\n");
  auto client = server.connect();
  const auto first = client.request("GET", "/style.css");
  REQUIRE(first.status == 200);
  const auto etag = header_of(first, "ETag");
  const auto last_modified = header_of(first, "Last-Modified");

  auto response = client.request("GET", "/style.css", {}, {{"If-None-Match", etag}});
  CHECK(response.status == 304);
  CHECK(response.body.empty());
  CHECK(header_of(response, "ETag") == etag);
  CHECK(header_of(response, "Cache-Control") == "public, max-age=60");

  response = client.request("GET", "/style.css", {}, {{"If-Modified-Since", last_modified}});
  CHECK(response.status == 304);
  CHECK(response.body.empty());

  response =
      client.request("GET", "/style.css", {}, {{"If-None-Match", "\"other\""}, {"If-Modified-Since", last_modified}});
  CHECK(response.status == 200);
  CHECK(response.body == first.body);
}

TEST_CASE("a directory without its slash redirects, query kept", "[integration][static]") {
  TestServer server(config_with());
  server.docroot().write("docs/index.html", "<h1>docs</h1>");
  auto client = server.connect();
  auto response = client.request("GET", "/docs?lang=en");
  CHECK(response.status == 301);
  CHECK(header_of(response, "Location") == "/docs/?lang=en");
  response = client.request("GET", "/docs/?lang=en");
  CHECK(response.status == 200);
  CHECK(response.body == "<h1>docs</h1>");
}

TEST_CASE("index.html, 403 without it, and autoindex", "[integration][static]") {
  SECTION("without --autoindex") {
    TestServer server(config_with(false));
    server.docroot().write("index.html", "home");
    server.docroot().write("files/a.txt", "a");
    auto client = server.connect();
    CHECK(client.request("GET", "/").body == "home");
    CHECK(client.request("GET", "/files/").status == 403);
  }
  SECTION("with --autoindex") {
    TestServer server(config_with(true));
    server.docroot().write("files/a.txt", "a");
    server.docroot().write("files/sub/b.txt", "b");
    server.docroot().write("files/<b>bold & \"quoted\".txt", "c");
    server.docroot().write("files/.hidden", "h");
    auto client = server.connect();
    const auto response = client.request("GET", "/files/");
    REQUIRE(response.status == 200);
    CHECK(header_of(response, "Content-Type") == "text/html; charset=utf-8");
    CHECK(response.body.find("href=\"a.txt\"") != std::string::npos);
    CHECK(response.body.find("href=\"sub/\"") != std::string::npos);
    CHECK(response.body.find("href=\"../\"") != std::string::npos);
    CHECK(response.body.find("&lt;b&gt;bold &amp; &quot;quoted&quot;.txt") != std::string::npos);
    CHECK(response.body.find("<b>") == std::string::npos);
    CHECK(response.body.find(".hidden") == std::string::npos);
  }
}

TEST_CASE("a symlink pointing out of the root is refused", "[integration][static]") {
  TempDir outside;
  outside.write("secret.txt", "the secret");
  TestServer server(config_with(true));
  const auto root = server.docroot().path();
  const auto relative_target = "../" + outside.path().filename().string() + "/secret.txt";
  REQUIRE(::symlink(relative_target.c_str(), (root / "relative-leak.txt").c_str()) == 0);
  REQUIRE(::symlink((outside.path() / "secret.txt").c_str(), (root / "absolute-leak.txt").c_str()) == 0);
  REQUIRE(::symlink(outside.path().c_str(), (root / "leak-dir").c_str()) == 0);
  server.docroot().write("inside.txt", "fine");
  REQUIRE(::symlink("inside.txt", (root / "alias.txt").c_str()) == 0);

  auto client = server.connect();
  for (const auto* target : {"/relative-leak.txt", "/absolute-leak.txt", "/leak-dir/secret.txt"}) {
    INFO(target);
    const auto response = client.request("GET", target);
    CHECK(response.status == 403);
    CHECK(response.body.find("the secret") == std::string::npos);
  }
  CHECK(client.request("GET", "/alias.txt").body == "fine");
  CHECK(client.request("GET", "/../secret.txt").status == 400);
  CHECK(client.request("GET", "/%2e%2e/" + outside.path().filename().string() + "/secret.txt").status == 400);
  // The listing does not describe what the escaping links point at.
  const auto listing = client.request("GET", "/");
  CHECK(listing.body.find("leak") == std::string::npos);
  CHECK(listing.body.find("alias.txt") != std::string::npos);
}

TEST_CASE("dotfiles are refused", "[integration][static]") {
  TestServer server(config_with());
  server.docroot().write(".env", "PASSWORD=hunter2");
  server.docroot().write(".git/config", "[core]");
  server.docroot().write(".well-known/security.txt", "Contact: mailto:security@example.com");
  auto client = server.connect();
  for (const auto* target : {"/.env", "/.git/config", "/%2Eenv", "/a/../.env"}) {
    INFO(target);
    const auto response = client.request("GET", target);
    CHECK(response.status == 404);
    CHECK(response.body.find("hunter2") == std::string::npos);
  }
  CHECK(client.request("GET", "/.well-known/security.txt").status == 200);
}

TEST_CASE("names with spaces and UTF-8", "[integration][static]") {
  TestServer server(config_with(true));
  server.docroot().write("my notes.txt", "spaces");
  server.docroot().write("\xE6\x97\xA5\xE6\x9C\xAC/caf\xC3\xA9 menu.txt", "utf-8");
  auto client = server.connect();
  CHECK(client.request("GET", "/my%20notes.txt").body == "spaces");
  CHECK(client.request("GET", "/%E6%97%A5%E6%9C%AC/caf%C3%A9%20menu.txt").body == "utf-8");
  const auto listing = client.request("GET", "/%E6%97%A5%E6%9C%AC/");
  CHECK(listing.body.find("href=\"caf%C3%A9%20menu.txt\"") != std::string::npos);
}

TEST_CASE("malformed paths and methods", "[integration][static]") {
  TestServer server(config_with());
  server.docroot().write("a.txt", "a");
  auto client = server.connect();
  CHECK(client.request("GET", "/a%00.txt").status == 400);
  CHECK(client.request("GET", "/%zz").status == 400);
  const auto options = client.request("OPTIONS", "/a.txt");
  CHECK(options.status == 204);
  CHECK(header_of(options, "Allow") == "GET, HEAD, OPTIONS");
  const auto post = client.request("POST", "/a.txt", "x");
  CHECK(post.status == 405);
  CHECK(header_of(post, "Allow") == "GET, HEAD, OPTIONS");
  CHECK(client.request("GET", "/a.txt").body == "a");
}

TEST_CASE("a client that resets in the middle of a large file leaves the server serving others",
          "[integration][static]") {
  TestServer server(config_with());
  make_sparse(server.docroot().path() / "large.bin", 64ULL << 20);
  server.docroot().write("small.txt", "still here");

  for (int round = 0; round < 3; ++round) {
    auto victim = server.connect();
    victim.send_raw("GET /large.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    pollfd readable{victim.fd(), POLLIN, 0};
    REQUIRE(::poll(&readable, 1, 5000) == 1);  // the response has started (bounded wait)
    CHECK_FALSE(victim.read_available(10ms).empty());
    // SO_LINGER with a zero timeout turns close() into a reset.
    const linger reset{1, 0};
    REQUIRE(::setsockopt(victim.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset) == 0);
  }  // each victim is closed here, with a RST

  auto other = server.connect();
  for (int i = 0; i < 5; ++i) {
    const auto response = other.request("GET", "/small.txt");
    CHECK(response.status == 200);
    CHECK(response.body == "still here");
  }
}

TEST_CASE("a file truncated while it is sent ends that connection, not the server", "[integration][static]") {
  TestServer server(config_with());
  constexpr std::uint64_t kSize = 64ULL << 20;  // far more than loopback socket buffers hold
  const auto path = server.docroot().path() / "shrinking.bin";
  make_sparse(path, kSize);
  server.docroot().write("small.txt", "still here");

  auto client = server.connect();
  client.send_raw("GET /shrinking.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  // Wait for the first bytes, so the response (and its Content-Length) is committed.
  pollfd ready{client.fd(), POLLIN, 0};
  REQUIRE(::poll(&ready, 1, 5000) == 1);
  char first[4096];
  const ssize_t n = ::recv(client.fd(), first, sizeof first, 0);
  REQUIRE(n > 0);
  std::string received(first, static_cast<std::size_t>(n));
  REQUIRE(received.find("Content-Length: " + std::to_string(kSize)) != std::string::npos);

  REQUIRE(::truncate(path.c_str(), 1 << 20) == 0);
  received += client.read_available(20s);  // returns at the server's close
  const auto body_start = received.find("\r\n\r\n");
  REQUIRE(body_start != std::string::npos);
  CHECK(received.size() - body_start - 4 < kSize);
  CHECK(client.wait_for_close(2s));

  auto other = server.connect();
  CHECK(other.request("GET", "/small.txt").body == "still here");
}

TEST_CASE("a file changed on disk is served fresh within a second", "[integration][static]") {
  auto config = config_with();
  // By default a file is copied into memory only once unchanged for two seconds; with no wait
  // it is at once, and then nothing on disk is looked at until the revalidation.
  const bool in_memory = GENERATE(true, false);
  INFO("held in memory: " << in_memory);
  if (in_memory) config.static_files.cache.settle_time = 0ms;
  TestServer server(config);
  const std::string original = "version one\n";
  server.docroot().write("news.txt", original);

  // Two connections, so that both workers (and both of their caches) serve the file.
  std::vector<HttpClient> clients;
  clients.push_back(server.connect());
  clients.push_back(server.connect());
  std::string first_etag;
  for (auto& client : clients) {
    for (int i = 0; i < 3; ++i) {
      const auto response = client.request("GET", "/news.txt");
      REQUIRE(response.status == 200);
      REQUIRE(response.body == original);
      first_etag = header_of(response, "ETag");
    }
  }

  std::string changed;
  SECTION("rewritten in place") {
    changed = "version two, and longer\n";
    server.docroot().write("news.txt", changed);
  }
  SECTION("replaced by a rename, same size") {
    changed = "version TWO\n";
    REQUIRE(changed.size() == original.size());
    const auto next = server.docroot().write("news.txt.next", changed);
    REQUIRE(std::rename(next.c_str(), (server.docroot().path() / "news.txt").c_str()) == 0);
  }
  std::this_thread::sleep_for(1100ms);  // past the one-second revalidation period
  for (auto& client : clients) {
    const auto response = client.request("GET", "/news.txt");
    CHECK(response.status == 200);
    CHECK(response.body == changed);
    CHECK(header_of(response, "Content-Length") == std::to_string(changed.size()));
    CHECK(header_of(response, "ETag") != first_etag);
  }
}
