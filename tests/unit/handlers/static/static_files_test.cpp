// StaticFiles as a plain handler: hand-made requests against a real docroot, no sockets.
#include "pulse/handlers/static/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "pulse/http/serializer.hpp"
#include "unit/handlers/static/file_tree.hpp"

using pulse::handlers::static_files::StaticFiles;
using pulse::handlers::static_files::StaticFilesOptions;
using pulse::http::Method;
using pulse::http::Request;
using pulse::http::Response;
using pulse::test::make_dir;
using pulse::test::make_fifo;
using pulse::test::make_symlink;
using pulse::test::TempDir;

namespace {

constexpr std::string_view kHello = "Hello, Pulse!\n";

struct Site {
  TempDir tree;
  std::filesystem::path root;

  Site() : root(make_dir(tree, "www")) {
    tree.write("outside/secret.txt", "top secret");
    tree.write("www/hello.txt", kHello);
    tree.write("www/index.html", "<h1>home</h1>");
    tree.write("www/docs/index.html", "<h1>docs</h1>");
    tree.write("www/docs/guide.md", "# Guide");
    tree.write("www/empty.txt", "");
    make_dir(tree, "www/plain");
    tree.write("www/plain/b.txt", "b");
    tree.write("www/plain/a file.txt", "a");
    tree.write("www/plain/.secret", "s");
    make_dir(tree, "www/evil.example");
    tree.write("www/hello world.txt", "spaces");
    tree.write("www/caf\xC3\xA9.txt", "utf-8");
    tree.write("www/.env", "PASSWORD=x");
    tree.write("www/.git/config", "[core]");
    tree.write("www/.well-known/security.txt", "Contact: mailto:x@example.com");
    tree.write("www/app.js", "console.log('plain');");
    tree.write("www/app.js.gz", std::string("\x1f\x8b\x08\x00gzipped-bytes", 17));
    make_symlink(tree, "../outside/secret.txt", "www/leak.txt");
    make_symlink(tree, "hello.txt", "www/alias.txt");
    make_fifo(tree, "www/pipe");
  }

  [[nodiscard]] StaticFilesOptions options() const {
    StaticFilesOptions options;
    options.root = root;
    return options;
  }
};

Request get(std::string target) {
  return Request::make(Method::kGet, std::move(target));
}

Request with_header(Request request, std::string name, std::string value) {
  request.headers.push_back({std::move(name), std::move(value)});
  return request;
}

std::string header(const Response& response, std::string_view name) {
  const auto value = response.header(name);
  return value ? std::string(*value) : std::string("<absent>");
}

// The head as the connection sends it, without its Date line (which moves with the clock):
// every field, from `headers` and the shared `header_lines` alike.
std::string wire_head(const Response& response) {
  std::string head;
  pulse::http::serialize_head(response, {}, head);
  const auto date = head.find("\r\nDate: ");
  REQUIRE(date != std::string::npos);
  head.erase(date, head.find("\r\n", date + 2) - date);
  return head;
}

// The bytes a file response would send: pread of its range.
std::string body_of(const Response& response) {
  if (!response.file) return std::string(response.body_view());
  std::string content(response.file->length, '\0');
  const ssize_t n =
      ::pread(response.file->fd->get(), content.data(), content.size(), static_cast<off_t>(response.file->offset));
  REQUIRE(n == static_cast<ssize_t>(content.size()));
  return content;
}

}  // namespace

TEST_CASE("StaticFiles: GET a file", "[static][handler]") {
  Site site;
  StaticFiles files(site.options());
  const auto response = files.handle(get("/hello.txt"));
  CHECK(response.status == 200);
  CHECK(header(response, "Content-Type") == "text/plain; charset=utf-8");
  CHECK(header(response, "Accept-Ranges") == "bytes");
  CHECK(header(response, "ETag").front() == '"');
  CHECK(header(response, "Last-Modified").find(" GMT") != std::string::npos);
  CHECK(header(response, "Cache-Control") == "<absent>");
  CHECK(header(response, "Vary") == "<absent>");
  REQUIRE(response.file.has_value());
  CHECK(response.file->offset == 0);
  CHECK(response.content_length() == kHello.size());
  CHECK(body_of(response) == kHello);
}

TEST_CASE("StaticFiles: HEAD has GET's headers", "[static][handler]") {
  Site site;
  StaticFiles files(site.options());
  const auto get_response = files.handle(get("/hello.txt"));
  const auto head_response = files.handle(Request::make(Method::kHead, "/hello.txt"));
  CHECK(head_response.status == get_response.status);
  CHECK(head_response.content_length() == get_response.content_length());
  CHECK(wire_head(head_response) == wire_head(get_response));
  CHECK(wire_head(get_response).find("\r\nContent-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
}

TEST_CASE("StaticFiles: OPTIONS and other methods", "[static][handler]") {
  Site site;
  StaticFiles files(site.options());
  const auto options = files.handle(Request::make(Method::kOptions, "/hello.txt"));
  CHECK(options.status == 204);
  CHECK(header(options, "Allow") == "GET, HEAD, OPTIONS");
  CHECK(options.content_length() == 0);
  for (const auto method : {Method::kPost, Method::kPut, Method::kDelete, Method::kPatch}) {
    const auto refused = files.handle(Request::make(method, "/hello.txt"));
    CHECK(refused.status == 405);
    CHECK(header(refused, "Allow") == "GET, HEAD, OPTIONS");
  }
}

TEST_CASE("StaticFiles: directories redirect, serve index.html, or refuse", "[static][handler]") {
  Site site;
  StaticFiles files(site.options());

  auto response = files.handle(get("/docs"));
  CHECK(response.status == 301);
  CHECK(header(response, "Location") == "/docs/");

  response = files.handle(get("/docs?lang=en&v=2"));
  CHECK(response.status == 301);
  CHECK(header(response, "Location") == "/docs/?lang=en&v=2");

  // Never a protocol-relative Location, whatever the request path looked like.
  response = files.handle(get("//evil.example"));
  CHECK(response.status == 301);
  CHECK(header(response, "Location") == "/evil.example/");

  response = files.handle(get("/docs/"));
  CHECK(response.status == 200);
  CHECK(header(response, "Content-Type") == "text/html; charset=utf-8");
  CHECK(body_of(response) == "<h1>docs</h1>");

  response = files.handle(get("/"));
  CHECK(response.status == 200);
  CHECK(body_of(response) == "<h1>home</h1>");

  response = files.handle(get("/plain/"));
  CHECK(response.status == 403);
}

TEST_CASE("StaticFiles: autoindex lists a directory without index.html", "[static][handler]") {
  Site site;
  auto options = site.options();
  options.autoindex = true;
  StaticFiles files(options);
  const auto response = files.handle(get("/plain/"));
  REQUIRE(response.status == 200);
  CHECK(header(response, "Content-Type") == "text/html; charset=utf-8");
  const auto page = std::string(response.body_view());
  CHECK(page.find("Index of /plain/") != std::string::npos);
  CHECK(page.find("href=\"a%20file.txt\"") != std::string::npos);
  CHECK(page.find("href=\"b.txt\"") != std::string::npos);
  CHECK(page.find("href=\"../\"") != std::string::npos);
  CHECK(page.find(".secret") == std::string::npos);
  // A directory with index.html still serves it.
  CHECK(body_of(files.handle(get("/docs/"))) == "<h1>docs</h1>");
}

TEST_CASE("StaticFiles: missing, malformed and escaping paths", "[static][handler]") {
  Site site;
  for (const bool walk : {false, true}) {
    INFO("force_path_walk: " << walk);
    auto options = site.options();
    options.force_path_walk = walk;
    StaticFiles files(options);
    CHECK(files.handle(get("/missing.txt")).status == 404);
    CHECK(files.handle(get("/hello.txt/")).status == 404);
    CHECK(files.handle(get("/hello.txt/x")).status == 404);
    CHECK(files.handle(get("/a%00b")).status == 400);
    CHECK(files.handle(get("/%zz")).status == 400);
    CHECK(files.handle(get("/../outside/secret.txt")).status == 400);
    CHECK(files.handle(get("/%2e%2e/outside/secret.txt")).status == 400);
    const auto leak = files.handle(get("/leak.txt"));
    CHECK(leak.status == 403);
    CHECK_FALSE(leak.file.has_value());
    CHECK(leak.body_view().find("top secret") == std::string::npos);
    CHECK(files.handle(get("/pipe")).status == 403);  // and open() did not block on the FIFO
    const auto alias = files.handle(get("/alias.txt"));
    CHECK(alias.status == 200);
    CHECK(body_of(alias) == kHello);
  }
}

TEST_CASE("StaticFiles: dotfiles are hidden unless --serve-dotfiles", "[static][handler]") {
  Site site;
  StaticFiles hidden(site.options());
  CHECK(hidden.handle(get("/.env")).status == 404);
  CHECK(hidden.handle(get("/.git/config")).status == 404);
  CHECK(hidden.handle(get("/%2egit/config")).status == 404);
  CHECK(hidden.handle(get("/.well-known/security.txt")).status == 200);

  auto options = site.options();
  options.serve_dotfiles = true;
  StaticFiles shown(options);
  const auto env = shown.handle(get("/.env"));
  CHECK(env.status == 200);
  CHECK(body_of(env) == "PASSWORD=x");
}

TEST_CASE("StaticFiles: names with spaces and UTF-8", "[static][handler]") {
  Site site;
  StaticFiles files(site.options());
  auto response = files.handle(get("/hello%20world.txt"));
  CHECK(response.status == 200);
  CHECK(body_of(response) == "spaces");
  response = files.handle(get("/caf%C3%A9.txt"));
  CHECK(response.status == 200);
  CHECK(body_of(response) == "utf-8");
}

TEST_CASE("StaticFiles: an empty file is a 200 with no body", "[static][handler]") {
  Site site;
  StaticFiles files(site.options());
  const auto response = files.handle(get("/empty.txt"));
  CHECK(response.status == 200);
  CHECK(response.content_length() == 0);
  CHECK(header(response, "Content-Type") == "text/plain; charset=utf-8");
}

TEST_CASE("StaticFiles: byte ranges", "[static][handler]") {
  Site site;
  StaticFiles files(site.options());
  const auto size = std::to_string(kHello.size());

  auto response = files.handle(with_header(get("/hello.txt"), "Range", "bytes=0-4"));
  CHECK(response.status == 206);
  CHECK(header(response, "Content-Range") == "bytes 0-4/" + size);
  CHECK(body_of(response) == "Hello");

  response = files.handle(with_header(get("/hello.txt"), "Range", "bytes=-6"));
  CHECK(response.status == 206);
  CHECK(body_of(response) == std::string(kHello.substr(kHello.size() - 6)));

  response = files.handle(with_header(get("/hello.txt"), "Range", "bytes=7-"));
  CHECK(response.status == 206);
  CHECK(body_of(response) == std::string(kHello.substr(7)));

  response = files.handle(with_header(get("/hello.txt"), "Range", "bytes=1000-"));
  CHECK(response.status == 416);
  CHECK(header(response, "Content-Range") == "bytes */" + size);
  CHECK_FALSE(response.file.has_value());

  response = files.handle(with_header(get("/hello.txt"), "Range", "bytes=0-1,3-4"));
  CHECK(response.status == 200);
  CHECK(body_of(response) == kHello);

  // Range is defined for GET only.
  response = files.handle(with_header(Request::make(Method::kHead, "/hello.txt"), "Range", "bytes=0-4"));
  CHECK(response.status == 200);
  CHECK(response.content_length() == kHello.size());
}

TEST_CASE("StaticFiles: If-Range", "[static][handler]") {
  Site site;
  StaticFiles files(site.options());
  const auto etag = header(files.handle(get("/hello.txt")), "ETag");
  const auto last_modified = header(files.handle(get("/hello.txt")), "Last-Modified");
  auto ranged = [&](std::string if_range) {
    return files.handle(
        with_header(with_header(get("/hello.txt"), "Range", "bytes=0-4"), "If-Range", std::move(if_range)));
  };
  CHECK(ranged(etag).status == 206);
  CHECK(ranged(last_modified).status == 206);
  CHECK(ranged("\"stale\"").status == 200);
  CHECK(ranged("W/" + etag).status == 200);
  CHECK(ranged("Thu, 01 Jan 1970 00:00:00 GMT").status == 200);
}

TEST_CASE("StaticFiles: conditional GET", "[static][handler]") {
  Site site;
  auto options = site.options();
  options.cache_control = "public, max-age=60";
  StaticFiles files(options);
  const auto first = files.handle(get("/hello.txt"));
  const auto etag = header(first, "ETag");
  const auto last_modified = header(first, "Last-Modified");
  CHECK(header(first, "Cache-Control") == "public, max-age=60");

  auto response = files.handle(with_header(get("/hello.txt"), "If-None-Match", etag));
  CHECK(response.status == 304);
  CHECK_FALSE(response.file.has_value());
  CHECK(response.body_view().empty());
  CHECK(header(response, "ETag") == etag);
  CHECK(header(response, "Cache-Control") == "public, max-age=60");

  response = files.handle(with_header(get("/hello.txt"), "If-Modified-Since", last_modified));
  CHECK(response.status == 304);

  response = files.handle(with_header(get("/hello.txt"), "If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"));
  CHECK(response.status == 200);

  // If-None-Match wins: a stale tag means 200 even though the date says "not modified".
  response = files.handle(
      with_header(with_header(get("/hello.txt"), "If-None-Match", "\"stale\""), "If-Modified-Since", last_modified));
  CHECK(response.status == 200);

  response = files.handle(with_header(Request::make(Method::kHead, "/hello.txt"), "If-None-Match", etag));
  CHECK(response.status == 304);

  response = files.handle(with_header(get("/hello.txt"), "If-Match", "\"stale\""));
  CHECK(response.status == 412);
}

TEST_CASE("StaticFiles: each field goes on the wire once, from lines shared by every response of the file",
          "[static][handler]") {
  Site site;
  auto options = site.options();
  options.cache_control = "no-cache";
  StaticFiles files(options);
  // How often `field` starts a line of the head as the connection would send it.
  const auto count = [](const Response& response, std::string_view field) {
    std::string head;
    pulse::http::serialize_head(response, {}, head);
    int found = 0;
    for (std::size_t at = head.find("\r\n"); at != std::string::npos; at = head.find("\r\n", at + 2)) {
      if (head.compare(at + 2, field.size(), field) == 0 && head.compare(at + 2 + field.size(), 2, ": ") == 0) {
        ++found;
      }
    }
    return found;
  };
  const auto first = files.handle(get("/hello.txt"));
  REQUIRE(first.status == 200);
  for (const char* field : {"ETag", "Last-Modified", "Cache-Control", "Content-Type", "Accept-Ranges",
                            "X-Content-Type-Options", "Content-Length", "Date", "Server"}) {
    INFO(field);
    CHECK(count(first, field) == 1);
  }
  const auto again = files.handle(get("/hello.txt"));
  REQUIRE(again.status == 200);
  CHECK(header(again, "ETag") == header(first, "ETag"));
  for (std::size_t i = 0; i < first.header_lines.size(); ++i) {
    INFO("slot " << i);
    REQUIRE(first.header_lines[i] != nullptr);
    CHECK(again.header_lines[i].get() == first.header_lines[i].get());  // made once, not per response
  }

  // A 304 repeats the validators and Cache-Control, and says nothing about a body.
  const auto not_modified = files.handle(with_header(get("/hello.txt"), "If-None-Match", header(first, "ETag")));
  REQUIRE(not_modified.status == 304);
  for (const char* field : {"ETag", "Last-Modified", "Cache-Control"}) {
    INFO(field);
    CHECK(count(not_modified, field) == 1);
  }
  for (const char* field : {"Content-Type", "Accept-Ranges", "X-Content-Type-Options", "Content-Length"}) {
    INFO(field);
    CHECK(count(not_modified, field) == 0);
  }
  // A range: the same lines plus Content-Range.
  const auto part = files.handle(with_header(get("/hello.txt"), "Range", "bytes=0-1"));
  REQUIRE(part.status == 206);
  CHECK(count(part, "Content-Range") == 1);
  CHECK(count(part, "Content-Type") == 1);
  CHECK(count(part, "ETag") == 1);

  // A file dated in the future gets its validators made per response (Last-Modified is capped
  // at the clock), still once each.
  const auto future = site.tree.write("www/future.txt", "later");
  const auto tomorrow = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + std::chrono::hours(24));
  const struct timespec times[2] = {{tomorrow, 0}, {tomorrow, 0}};
  REQUIRE(::utimensat(AT_FDCWD, future.c_str(), times, 0) == 0);
  const auto dated = files.handle(get("/future.txt"));
  REQUIRE(dated.status == 200);
  CHECK(dated.header_lines[0] == nullptr);
  for (const char* field : {"ETag", "Last-Modified", "Content-Type"}) {
    INFO(field);
    CHECK(count(dated, field) == 1);
  }
}

TEST_CASE("StaticFiles: the ETag changes when the file does", "[static][handler]") {
  Site site;
  StaticFiles files(site.options());
  const auto before = header(files.handle(get("/hello.txt")), "ETag");
  site.tree.write("www/hello.txt", "Hello, Pulse, again!\n");
  const auto after = header(files.handle(get("/hello.txt")), "ETag");
  CHECK(before != after);
}

TEST_CASE("StaticFiles: precompressed .gz siblings", "[static][handler]") {
  Site site;
  auto options = site.options();
  options.precompressed = true;
  StaticFiles files(options);

  auto response = files.handle(with_header(get("/app.js"), "Accept-Encoding", "br, gzip"));
  CHECK(response.status == 200);
  CHECK(header(response, "Content-Encoding") == "gzip");
  CHECK(header(response, "Content-Type") == "text/javascript; charset=utf-8");
  CHECK(header(response, "Vary") == "Accept-Encoding");
  CHECK(body_of(response).substr(0, 2) == "\x1f\x8b");
  const auto gzip_etag = header(response, "ETag");

  response = files.handle(with_header(get("/app.js"), "Accept-Encoding", "gzip;q=0"));
  CHECK(header(response, "Content-Encoding") == "<absent>");
  CHECK(header(response, "Vary") == "Accept-Encoding");
  CHECK(body_of(response) == "console.log('plain');");
  CHECK(header(response, "ETag") != gzip_etag);  // two representations, two tags

  response = files.handle(get("/app.js"));
  CHECK(header(response, "Content-Encoding") == "<absent>");

  response = files.handle(with_header(get("/hello.txt"), "Accept-Encoding", "gzip"));  // no sibling
  CHECK(header(response, "Content-Encoding") == "<absent>");
  CHECK(body_of(response) == kHello);

  StaticFiles plain(site.options());
  response = plain.handle(with_header(get("/app.js"), "Accept-Encoding", "gzip"));
  CHECK(header(response, "Content-Encoding") == "<absent>");
  CHECK(header(response, "Vary") == "<absent>");
}

TEST_CASE("StaticFiles: files past 4 GiB are addressed with 64-bit offsets", "[static][handler]") {
  Site site;
  const auto big = site.tree.write("www/big.bin", "");
  constexpr std::uint64_t kSize = (5ULL << 30) + 7;  // sparse: costs no disk
  REQUIRE(::truncate(big.c_str(), static_cast<off_t>(kSize)) == 0);
  StaticFiles files(site.options());

  auto response = files.handle(get("/big.bin"));
  CHECK(response.status == 200);
  CHECK(response.content_length() == kSize);

  response = files.handle(with_header(get("/big.bin"), "Range", "bytes=4294967296-4294967305"));
  CHECK(response.status == 206);
  REQUIRE(response.file.has_value());
  CHECK(response.file->offset == 4294967296ULL);
  CHECK(response.file->length == 10);
  CHECK(header(response, "Content-Range") == "bytes 4294967296-4294967305/" + std::to_string(kSize));
}

TEST_CASE("StaticFiles: a docroot that cannot be opened throws", "[static][handler]") {
  TempDir tree;
  StaticFilesOptions options;
  options.root = tree.path() / "missing";
  CHECK_THROWS_AS(StaticFiles(options), std::system_error);
}

// --- The per-thread file cache: the same answers as from disk, fewer system calls ----------------

namespace {

std::size_t open_descriptor_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

void check_same_response(const Response& expected, const Response& actual) {
  CHECK(actual.status == expected.status);
  CHECK(actual.content_length() == expected.content_length());
  CHECK(body_of(actual) == body_of(expected));
  CHECK(wire_head(actual) == wire_head(expected));
}

}  // namespace

TEST_CASE("StaticFiles: cached files get exactly the answers uncached ones do", "[static][handler][cache]") {
  Site site;
  auto uncached_options = site.options();
  uncached_options.precompressed = true;
  uncached_options.cache_control = "public, max-age=60";
  uncached_options.cache.enabled = false;
  StaticFiles uncached(uncached_options);

  auto cached_options = uncached_options;
  cached_options.cache.enabled = true;
  const bool in_memory = GENERATE(true, false);
  INFO("held in memory: " << in_memory);
  cached_options.cache.settle_time = in_memory ? std::chrono::milliseconds(0) : std::chrono::hours(24);
  StaticFiles cached(cached_options);

  const auto etag = header(uncached.handle(get("/hello.txt")), "ETag");
  const auto last_modified = header(uncached.handle(get("/hello.txt")), "Last-Modified");
  const std::vector<Request> requests = {
      get("/hello.txt"),
      Request::make(Method::kHead, "/hello.txt"),
      with_header(get("/hello.txt"), "Range", "bytes=0-4"),
      with_header(get("/hello.txt"), "Range", "bytes=-6"),
      with_header(get("/hello.txt"), "Range", "bytes=1000-"),
      with_header(with_header(get("/hello.txt"), "Range", "bytes=0-4"), "If-Range", etag),
      with_header(with_header(get("/hello.txt"), "Range", "bytes=0-4"), "If-Range", "\"stale\""),
      with_header(get("/hello.txt"), "If-None-Match", etag),
      with_header(get("/hello.txt"), "If-Modified-Since", last_modified),
      with_header(get("/hello.txt"), "If-Match", "\"stale\""),
      with_header(Request::make(Method::kHead, "/hello.txt"), "If-None-Match", etag),
      get("/empty.txt"),
      get("/"),
      get("/docs/"),
      get("/docs"),
      get("/hello.txt/"),
      get("/alias.txt"),
      get("/leak.txt"),
      get("/missing.txt"),
      with_header(get("/app.js"), "Accept-Encoding", "gzip"),
      with_header(with_header(get("/app.js"), "Accept-Encoding", "gzip"), "Range", "bytes=0-1"),
      get("/app.js"),
      with_header(get("/hello.txt"), "Accept-Encoding", "gzip"),
  };
  // Three rounds: the first fills the cache, the others are answered from it.
  for (int round = 0; round < 3; ++round) {
    for (const auto& request : requests) {
      INFO("round " << round << ": " << to_string(request.method) << " " << request.target << " "
                    << (request.headers.size() > 1 ? request.headers.back().name : ""));
      check_same_response(uncached.handle(request), cached.handle(request));
    }
  }
}

TEST_CASE("StaticFiles: a small settled file leaves from memory", "[static][handler][cache]") {
  Site site;
  auto options = site.options();
  options.cache.settle_time = std::chrono::milliseconds(0);
  StaticFiles files(options);
  for (int i = 0; i < 2; ++i) {
    const auto response = files.handle(get("/hello.txt"));
    CHECK(response.status == 200);
    CHECK_FALSE(response.file.has_value());
    CHECK(response.body_view() == kHello);
  }
  const auto head = files.handle(Request::make(Method::kHead, "/hello.txt"));
  CHECK(head.body_view().empty());
  CHECK(head.content_length() == kHello.size());
}

TEST_CASE("StaticFiles: a large file's responses share one open descriptor", "[static][handler][cache]") {
  Site site;
  auto options = site.options();
  options.cache.max_file_bytes = 4;
  StaticFiles cached(options);
  const auto first = cached.handle(get("/hello.txt"));
  const auto second = cached.handle(with_header(get("/hello.txt"), "Range", "bytes=1-2"));
  REQUIRE(first.file.has_value());
  REQUIRE(second.file.has_value());
  CHECK(first.file->fd == second.file->fd);
  CHECK(body_of(second) == "el");

  options.cache.enabled = false;
  StaticFiles uncached(options);
  const auto a = uncached.handle(get("/hello.txt"));
  const auto b = uncached.handle(get("/hello.txt"));
  REQUIRE(a.file.has_value());
  REQUIRE(b.file.has_value());
  CHECK(a.file->fd != b.file->fd);
}

namespace {

// Files held in memory at once, and looked at on disk again `revalidate_after` after that.
StaticFilesOptions in_memory_options(const Site& site, std::chrono::milliseconds revalidate_after) {
  auto options = site.options();
  options.cache.settle_time = std::chrono::milliseconds(0);
  options.cache.revalidate_after = revalidate_after;
  return options;
}

}  // namespace

TEST_CASE("StaticFiles: a file changed on disk is served fresh after the revalidation period",
          "[static][handler][cache]") {
  Site site;
  StaticFiles files(in_memory_options(site, std::chrono::milliseconds(0)));
  const auto before = files.handle(get("/hello.txt"));
  REQUIRE(before.body_view() == kHello);
  site.tree.write("www/hello.txt", "Hello, Pulse, again!\n");
  const auto after = files.handle(get("/hello.txt"));
  CHECK(after.body_view() == "Hello, Pulse, again!\n");
  CHECK(header(after, "ETag") != header(before, "ETag"));
  REQUIRE(std::filesystem::remove(site.root / "hello.txt"));
  CHECK(files.handle(get("/hello.txt")).status == 404);
}

TEST_CASE("StaticFiles: the revalidation period runs on the request's clock when it has one",
          "[static][handler][cache]") {
  Site site;
  StaticFiles files(in_memory_options(site, std::chrono::hours(1)));
  const auto at = [](pulse::base::MonotonicClock::time_point when) {
    auto request = get("/hello.txt");
    request.received_at = when;
    return request;
  };
  const auto start = pulse::base::MonotonicClock::now();
  REQUIRE(files.handle(at(start)).body_view() == kHello);
  site.tree.write("www/hello.txt", "Hello, Pulse, again!\n");
  // Within the hour by the request's clock: the copy in memory, nothing on disk looked at.
  CHECK(files.handle(at(start + std::chrono::minutes(30))).body_view() == kHello);
  // Past it: revalidated, the new contents.
  CHECK(files.handle(at(start + std::chrono::hours(2))).body_view() == "Hello, Pulse, again!\n");
}

TEST_CASE("StaticFiles: a destroyed handler's cached files are closed", "[static][handler][cache]") {
  Site site;
  auto options = site.options();
  options.cache.settle_time = std::chrono::hours(24);  // cached open, so each holds a descriptor
  const std::size_t baseline = open_descriptor_count();
  for (int i = 0; i < 20; ++i) {
    StaticFiles files(options);
    CHECK(files.handle(get("/hello.txt")).status == 200);
  }
  // This thread frees the caches of handlers gone the next time any handler uses its cache.
  StaticFiles last(options);
  CHECK(last.handle(get("/missing.txt")).status == 404);
  CHECK(open_descriptor_count() == baseline + 1);  // `last`'s document root
}

TEST_CASE("StaticFiles: a worker thread's cached files are closed when it exits", "[static][handler][cache]") {
  Site site;
  auto options = site.options();
  options.cache.settle_time = std::chrono::hours(24);
  StaticFiles files(options);
  const std::size_t baseline = open_descriptor_count();
  int status = 0;
  std::thread worker([&] { status = files.handle(get("/hello.txt")).status; });
  worker.join();
  CHECK(status == 200);
  CHECK(open_descriptor_count() == baseline);

  // Whereas a thread that lives on keeps its cached file open.
  CHECK(files.handle(get("/hello.txt")).status == 200);
  CHECK(open_descriptor_count() == baseline + 1);
}
