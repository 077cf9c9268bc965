// FileVersion against real files: validators, copying bytes only when they cannot change under
// us, and the stat() comparisons that tell one version of a file from the next.
#include "pulse/handlers/static/file_version.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "pulse/http/http_date.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using pulse::base::UniqueFd;
using pulse::handlers::static_files::current_validators;
using pulse::handlers::static_files::describe_file;
using pulse::handlers::static_files::FileVersion;
using pulse::handlers::static_files::load_into_memory;
using pulse::handlers::static_files::same_version;
using pulse::handlers::static_files::settled;
using pulse::http::make_etag;
using pulse::test::TempDir;

namespace {

struct stat stat_of(const std::filesystem::path& path) {
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  return status;
}

std::shared_ptr<const FileVersion> open_version(const std::filesystem::path& path) {
  auto fd = std::make_shared<const UniqueFd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd->valid());
  struct stat status {};
  REQUIRE(::fstat(fd->get(), &status) == 0);
  return describe_file(std::move(fd), status);
}

std::chrono::system_clock::time_point time_of(const struct timespec& time) {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(time.tv_sec) + std::chrono::nanoseconds(time.tv_nsec)));
}

}  // namespace

TEST_CASE("FileVersion: describe_file makes the validators once", "[static][file_version]") {
  TempDir dir;
  const auto path = dir.write("a.txt", "twelve bytes");
  const auto version = open_version(path);
  const struct stat status = stat_of(path);
  const std::int64_t mtime_ns =
      static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1'000'000'000 + status.st_mtim.tv_nsec;
  CHECK(version->validators.etag == make_etag(status.st_ino, 12, mtime_ns));
  CHECK(version->validators.last_modified.time_since_epoch().count() == status.st_mtim.tv_sec);
  CHECK(version->last_modified_text == pulse::http::format_http_date(status.st_mtim.tv_sec));
  CHECK_FALSE(version->modified_in_future);
  CHECK(version->size() == 12);
  CHECK(version->fd != nullptr);
  CHECK_FALSE(version->in_memory());
}

TEST_CASE("FileVersion: load_into_memory copies the bytes and lets go of the file", "[static][file_version]") {
  TempDir dir;
  const auto path = dir.write("a.txt", "the bytes");
  const auto version = open_version(path);
  const auto loaded = load_into_memory(*version);
  REQUIRE(loaded != nullptr);
  REQUIRE(loaded->in_memory());
  CHECK(*loaded->content == "the bytes");
  CHECK(loaded->fd == nullptr);
  CHECK(loaded->validators.etag == version->validators.etag);
  CHECK(loaded->last_modified_text == version->last_modified_text);

  const auto empty = load_into_memory(*open_version(dir.write("empty.txt", "")));
  REQUIRE(empty != nullptr);
  REQUIRE(empty->content);
  CHECK(*empty->content == std::string());
}

TEST_CASE("FileVersion: a file changed since it was described is not copied", "[static][file_version]") {
  TempDir dir;
  const auto path = dir.write("a.txt", "original");
  const auto version = open_version(path);
  SECTION("grown") {
    dir.write("a.txt", "original, and more");
  }
  SECTION("truncated") {
    REQUIRE(::truncate(path.c_str(), 3) == 0);
  }
  SECTION("rewritten at the same size") {
    // In a later timestamp tick than the first write, so that ctime moves (within the same tick
    // it might not: the case settled() guards against).
    std::this_thread::sleep_for(20ms);
    dir.write("a.txt", "ORIGINAL");
  }
  CHECK(load_into_memory(*version) == nullptr);
}

TEST_CASE("FileVersion: same_version", "[static][file_version]") {
  TempDir dir;
  const auto a = dir.write("a.txt", "a");
  const auto b = dir.write("b.txt", "b");
  const struct stat before = stat_of(a);
  CHECK(same_version(before, stat_of(a)));
  CHECK_FALSE(same_version(before, stat_of(b)));
  std::this_thread::sleep_for(20ms);
  dir.write("a.txt", "A");
  CHECK_FALSE(same_version(before, stat_of(a)));
  const struct stat rewritten = stat_of(a);
  REQUIRE(::chmod(a.c_str(), 0600) == 0);  // metadata only: ctime moves
  CHECK_FALSE(same_version(rewritten, stat_of(a)));
}

TEST_CASE("FileVersion: settled means unchanged for the settle time", "[static][file_version]") {
  TempDir dir;
  const struct stat status = stat_of(dir.write("a.txt", "a"));
  const auto changed = std::max(time_of(status.st_mtim), time_of(status.st_ctim));
  CHECK(settled(status, changed + 2s, 2s));
  CHECK(settled(status, changed + 3s, 2s));
  CHECK_FALSE(settled(status, changed + 1s, 2s));
  // A clock that went back before the file's last change: not settled, whatever the setting.
  CHECK_FALSE(settled(status, changed - 1s, 0s));
}

TEST_CASE("FileVersion: Last-Modified never passes the clock", "[static][file_version]") {
  TempDir dir;
  const auto path = dir.write("future.txt", "from the future");
  const auto tomorrow = std::chrono::system_clock::now() + 24h;
  const struct timespec times[2] = {
      {std::chrono::system_clock::to_time_t(tomorrow), 0},
      {std::chrono::system_clock::to_time_t(tomorrow), 0},
  };
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
  const auto version = open_version(path);
  CHECK(version->modified_in_future);
  const auto now = std::chrono::system_clock::now();
  CHECK(version->validators.last_modified <= now);
  CHECK(current_validators(*version).last_modified <= std::chrono::system_clock::now());
  CHECK(current_validators(*version).etag == version->validators.etag);
  CHECK(version->validator_lines.empty());  // made per response instead, with the date of then
}

TEST_CASE("FileVersion: the validator lines every response repeats, made once", "[static][file_version]") {
  TempDir dir;
  const auto version = open_version(dir.write("page.html", "<p>hi</p>"));
  REQUIRE_FALSE(version->modified_in_future);
  CHECK(version->validator_lines ==
        "ETag: " + version->validators.etag + "\r\nLast-Modified: " + version->last_modified_text + "\r\n");
}
