// FileLookup's freshness rules against a real docroot, with the request time passed in: what a
// file in memory and an open file each notice at once, and what waits for the revalidation.
#include "pulse/handlers/static/file_lookup.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "unit/handlers/static/file_tree.hpp"

using namespace std::chrono_literals;
using pulse::handlers::static_files::Docroot;
using pulse::handlers::static_files::FileCache;
using pulse::handlers::static_files::FileCacheOptions;
using pulse::handlers::static_files::FileLookup;
using pulse::handlers::static_files::FileVersion;
using pulse::test::make_dir;
using pulse::test::make_symlink;
using pulse::test::TempDir;

namespace {

const pulse::base::MonotonicClock::time_point kStart = pulse::base::MonotonicClock::time_point{} + 24h;

struct Fixture {
  TempDir tree;
  std::filesystem::path root = make_dir(tree, "www");
  Docroot docroot{root};
  FileCacheOptions options;
  FileCache cache{options.limits};

  // What a request at `at` would serve for `path`: the cached version, else the file opened now.
  std::shared_ptr<const FileVersion> serve(std::string_view path, pulse::base::MonotonicClock::time_point at) {
    FileLookup files(docroot, options, &cache, at);
    if (auto version = files.cached(path)) return version;
    auto file = files.open(path);
    if (!file || !S_ISREG(file.status.st_mode)) return nullptr;
    return files.remember(path, std::move(file));
  }

  // The bytes a response for `version` would carry.
  static std::string bytes_of(const std::shared_ptr<const FileVersion>& version) {
    REQUIRE(version != nullptr);
    if (version->in_memory()) return *version->content;
    std::string bytes(version->size(), '\0');
    REQUIRE(::pread(version->fd->get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    return bytes;
  }

  void replace_by_rename(const std::string& relative, std::string_view content) {
    const auto next = tree.write("next.tmp", content);
    REQUIRE(std::rename(next.c_str(), (root / relative).c_str()) == 0);
  }
};

// Raises the soft RLIMIT_NOFILE back when the test ends, however it ends.
class FdLimit {
 public:
  explicit FdLimit(rlim_t soft) {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  }
  FdLimit(const FdLimit&) = delete;
  FdLimit& operator=(const FdLimit&) = delete;
  ~FdLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

}  // namespace

TEST_CASE("FileLookup: a small settled file is held in memory and trusted for the period", "[static][file_lookup]") {
  Fixture site;
  site.options.settle_time = 0ms;
  site.tree.write("www/a.txt", "first");

  const auto first = site.serve("a.txt", kStart);
  REQUIRE(first != nullptr);
  CHECK(first->in_memory());
  CHECK(*first->content == "first");
  CHECK(site.cache.open_files() == 0);
  CHECK(site.serve("a.txt", kStart + 10ms) == first);

  SECTION("rewritten in place") {
    site.tree.write("www/a.txt", "second, longer");
    CHECK(site.serve("a.txt", kStart + 999ms) == first);  // no system call: the disk is not looked at
    const auto after = site.serve("a.txt", kStart + 1000ms);
    CHECK(Fixture::bytes_of(after) == "second, longer");
    CHECK(after->validators.etag != first->validators.etag);
  }
  SECTION("removed") {
    REQUIRE(std::filesystem::remove(site.root / "a.txt"));
    CHECK(site.serve("a.txt", kStart + 999ms) == first);
    CHECK(site.serve("a.txt", kStart + 1000ms) == nullptr);
    CHECK(site.cache.size() == 0);
  }
  SECTION("unchanged: revalidated, the same version kept") {
    CHECK(site.serve("a.txt", kStart + 1500ms) == first);
    CHECK(site.serve("a.txt", kStart + 2400ms) == first);  // validated at 1.5 s
  }
}

TEST_CASE("FileLookup: an open file notices writes, truncation and removal at once", "[static][file_lookup]") {
  Fixture site;
  site.options.settle_time = 24h;  // never copied into memory
  site.tree.write("www/a.txt", "first");

  const auto first = site.serve("a.txt", kStart);
  REQUIRE(first != nullptr);
  REQUIRE_FALSE(first->in_memory());
  CHECK(site.cache.open_files() == 1);
  // The same open file, not one open() per request.
  CHECK(site.serve("a.txt", kStart + 1ms) == first);

  SECTION("rewritten in place") {
    site.tree.write("www/a.txt", "second, longer");
    const auto after = site.serve("a.txt", kStart + 2ms);
    CHECK(Fixture::bytes_of(after) == "second, longer");
    CHECK(after->size() == 14);
  }
  SECTION("truncated") {
    REQUIRE(::truncate((site.root / "a.txt").c_str(), 2) == 0);
    const auto after = site.serve("a.txt", kStart + 2ms);
    CHECK(after->size() == 2);
    CHECK(Fixture::bytes_of(after) == "fi");
  }
  SECTION("renamed over by a new version") {
    site.replace_by_rename("a.txt", "third");  // same size: the inode tells them apart
    CHECK(Fixture::bytes_of(site.serve("a.txt", kStart + 2ms)) == "third");
  }
  SECTION("removed") {
    REQUIRE(std::filesystem::remove(site.root / "a.txt"));
    CHECK(site.serve("a.txt", kStart + 2ms) == nullptr);
    CHECK(site.cache.size() == 0);
  }
}

TEST_CASE("FileLookup: a re-pointed symlink is followed after the period", "[static][file_lookup]") {
  Fixture site;
  const bool in_memory = GENERATE(true, false);
  site.options.settle_time = in_memory ? 0ms : 24h;
  site.tree.write("www/one.txt", "one");
  site.tree.write("www/two.txt", "two");
  make_symlink(site.tree, "one.txt", "www/current.txt");
  const auto first = site.serve("current.txt", kStart);
  REQUIRE(first != nullptr);
  REQUIRE(first->in_memory() == in_memory);
  REQUIRE(Fixture::bytes_of(first) == "one");

  REQUIRE(std::filesystem::remove(site.root / "current.txt"));
  make_symlink(site.tree, "two.txt", "www/current.txt");
  // one.txt itself is unchanged and still linked: only resolving the path again shows the change.
  CHECK(site.serve("current.txt", kStart + 999ms) == first);
  CHECK(Fixture::bytes_of(site.serve("current.txt", kStart + 1000ms)) == "two");
}

TEST_CASE("FileLookup: an open file moves into memory once it has settled", "[static][file_lookup]") {
  Fixture site;
  site.options.settle_time = 24h;
  site.tree.write("www/a.txt", "bytes");
  const auto opened = site.serve("a.txt", kStart);
  REQUIRE_FALSE(opened->in_memory());

  site.options.settle_time = 0ms;  // as if a day had passed
  const auto settled = site.serve("a.txt", kStart + 1ms);
  REQUIRE(settled->in_memory());
  CHECK(*settled->content == "bytes");
  CHECK(settled->validators.etag == opened->validators.etag);
  CHECK(site.cache.open_files() == 0);
  // Still validated at kStart: the move did not resolve the path again.
  site.tree.write("www/a.txt", "changed");
  CHECK(site.serve("a.txt", kStart + 999ms) == settled);
  CHECK(Fixture::bytes_of(site.serve("a.txt", kStart + 1000ms)) == "changed");
}

TEST_CASE("FileLookup: large files stay open, whatever their age", "[static][file_lookup]") {
  Fixture site;
  site.options.settle_time = 0ms;
  site.options.max_file_bytes = 4;
  site.tree.write("www/small.txt", "1234");
  site.tree.write("www/large.txt", "12345");
  CHECK(site.serve("small.txt", kStart)->in_memory());
  CHECK_FALSE(site.serve("large.txt", kStart)->in_memory());
  CHECK_FALSE(site.serve("large.txt", kStart + 2s)->in_memory());
}

TEST_CASE("FileLookup: without a cache every lookup opens the file", "[static][file_lookup]") {
  Fixture site;
  site.tree.write("www/a.txt", "a");
  FileLookup files(site.docroot, site.options, nullptr, kStart);
  CHECK(files.cached("a.txt") == nullptr);
  auto file = files.open("a.txt");
  REQUIRE(file);
  const auto version = files.remember("a.txt", std::move(file));
  CHECK_FALSE(version->in_memory());
  CHECK(files.cached("a.txt") == nullptr);
}

TEST_CASE("FileLookup: a missing .gz sibling is remembered until its file is revalidated", "[static][file_lookup]") {
  Fixture site;
  site.tree.write("www/app.js", "plain");
  REQUIRE(site.serve("app.js", kStart) != nullptr);
  {
    FileLookup files(site.docroot, site.options, &site.cache, kStart);
    CHECK(files.gzip_sibling("app.js") == nullptr);
  }
  site.tree.write("www/app.js.gz", "gzipped");
  {
    REQUIRE(site.serve("app.js", kStart + 999ms) != nullptr);
    FileLookup files(site.docroot, site.options, &site.cache, kStart + 999ms);
    CHECK(files.gzip_sibling("app.js") == nullptr);
  }
  {
    REQUIRE(site.serve("app.js", kStart + 1000ms) != nullptr);  // revalidates app.js
    FileLookup files(site.docroot, site.options, &site.cache, kStart + 1000ms);
    const auto gzip = files.gzip_sibling("app.js");
    CHECK(Fixture::bytes_of(gzip) == "gzipped");
  }
}

TEST_CASE("FileLookup: out of descriptors, the cache gives its open files back", "[static][file_lookup]") {
  Fixture site;
  site.options.settle_time = 24h;
  site.tree.write("www/held.txt", "held");
  site.tree.write("www/wanted.txt", "wanted");
  std::weak_ptr<const pulse::base::UniqueFd> held_fd;
  int held_number = -1;
  {
    const auto held = site.serve("held.txt", kStart);
    REQUIRE(held != nullptr);
    REQUIRE_FALSE(held->in_memory());
    held_fd = held->fd;
    held_number = held->fd->get();
  }
  REQUIRE_FALSE(held_fd.expired());  // the cache alone keeps it open

  // With the limit at the lowest free descriptor number, no open() can succeed unless a
  // descriptor below it is closed: held.txt's is the only one the cache can give.
  const int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(lowest_free >= 0);
  ::close(lowest_free);
  REQUIRE(held_number < lowest_free);
  std::shared_ptr<const FileVersion> wanted;
  {
    FdLimit limit(static_cast<rlim_t>(lowest_free));
    wanted = site.serve("wanted.txt", kStart + 1ms);
  }
  REQUIRE(wanted != nullptr);
  CHECK(Fixture::bytes_of(wanted) == "wanted");
  CHECK(held_fd.expired());
  CHECK(site.cache.find("held.txt") == nullptr);
}
