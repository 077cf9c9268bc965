// FileCache: recency order across its two lists, each limit on its own, replacement accounting;
// ThreadLocalFileCache: one cache per thread, freed at thread exit and when its owner goes.
#include "pulse/handlers/static/file_cache.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>

using pulse::handlers::static_files::FileCache;
using pulse::handlers::static_files::FileCacheLimits;
using pulse::handlers::static_files::FileVersion;
using pulse::handlers::static_files::ThreadLocalFileCache;

namespace {

std::shared_ptr<const FileVersion> in_memory(std::string bytes) {
  auto version = std::make_shared<FileVersion>();
  version->status.st_size = static_cast<off_t>(bytes.size());
  version->content = std::make_shared<const std::string>(std::move(bytes));
  return version;
}

std::shared_ptr<const FileVersion> open_file() {
  auto version = std::make_shared<FileVersion>();
  version->fd = std::make_shared<const pulse::base::UniqueFd>();
  return version;
}

FileCache::Entry entry_of(std::shared_ptr<const FileVersion> version) {
  return {std::move(version), {}, false};
}

bool holds(FileCache& cache, std::string_view path) {
  return cache.find(path) != nullptr;
}

}  // namespace

TEST_CASE("FileCache: put, find, replace and erase", "[static][file_cache]") {
  FileCache cache;
  CHECK(cache.find("a.txt") == nullptr);

  const auto first = in_memory("hello");
  REQUIRE(cache.put("a.txt", entry_of(first)) != nullptr);
  const auto* found = cache.find("a.txt");
  REQUIRE(found != nullptr);
  CHECK(found->version == first);
  CHECK(cache.size() == 1);
  CHECK(cache.content_bytes() == 5);

  // A new version of the same path may move from memory to the open list, and back.
  const auto reopened = open_file();
  cache.put("a.txt", entry_of(reopened));
  CHECK(cache.find("a.txt")->version == reopened);
  CHECK(cache.size() == 1);
  CHECK(cache.open_files() == 1);
  CHECK(cache.content_bytes() == 0);
  cache.put("a.txt", entry_of(in_memory("hi")));
  CHECK(cache.open_files() == 0);
  CHECK(cache.content_bytes() == 2);

  cache.erase("a.txt");
  CHECK(cache.find("a.txt") == nullptr);
  CHECK(cache.size() == 0);
  CHECK(cache.content_bytes() == 0);
  cache.erase("never-there");  // harmless
}

TEST_CASE("FileCache: the least recently used entry goes first", "[static][file_cache]") {
  FileCacheLimits limits;
  limits.max_entries = 3;
  FileCache cache(limits);
  cache.put("a", entry_of(in_memory("a")));
  cache.put("b", entry_of(in_memory("b")));
  cache.put("c", entry_of(in_memory("c")));
  REQUIRE(holds(cache, "a"));  // a is now the most recently used; b the least
  cache.put("d", entry_of(in_memory("d")));
  CHECK(cache.size() == 3);
  CHECK_FALSE(holds(cache, "b"));
  CHECK(holds(cache, "a"));
  CHECK(holds(cache, "c"));
  CHECK(holds(cache, "d"));
}

TEST_CASE("FileCache: recency is compared across files in memory and open files", "[static][file_cache]") {
  FileCacheLimits limits;
  limits.max_entries = 2;
  FileCache cache(limits);

  SECTION("the open file is older") {
    cache.put("memory", entry_of(in_memory("m")));
    cache.put("open", entry_of(open_file()));
    REQUIRE(holds(cache, "memory"));
    cache.put("new", entry_of(in_memory("n")));
    CHECK_FALSE(holds(cache, "open"));
    CHECK(holds(cache, "memory"));
  }
  SECTION("the file in memory is older") {
    cache.put("memory", entry_of(in_memory("m")));
    cache.put("open", entry_of(open_file()));
    cache.put("new", entry_of(open_file()));
    CHECK_FALSE(holds(cache, "memory"));
    CHECK(holds(cache, "open"));
    CHECK(cache.open_files() == 2);
  }
}

TEST_CASE("FileCache: open files are bounded apart from the rest", "[static][file_cache]") {
  FileCacheLimits limits;
  limits.max_entries = 100;
  limits.max_open_files = 2;
  FileCache cache(limits);
  cache.put("o1", entry_of(open_file()));
  cache.put("m1", entry_of(in_memory("m")));
  cache.put("o2", entry_of(open_file()));
  cache.put("o3", entry_of(open_file()));
  CHECK(cache.open_files() == 2);
  CHECK_FALSE(holds(cache, "o1"));
  CHECK(holds(cache, "m1"));  // older than o2 and o3, but holds no descriptor
  CHECK(holds(cache, "o2"));
  CHECK(holds(cache, "o3"));
}

TEST_CASE("FileCache: bytes in memory are bounded", "[static][file_cache]") {
  FileCacheLimits limits;
  limits.max_content_bytes = 10;
  FileCache cache(limits);
  cache.put("six", entry_of(in_memory("123456")));
  cache.put("four", entry_of(in_memory("1234")));
  CHECK(cache.content_bytes() == 10);
  cache.put("one", entry_of(in_memory("1")));
  CHECK_FALSE(holds(cache, "six"));
  CHECK(cache.content_bytes() == 5);

  // A file bigger than the whole budget is not stored, and costs the others nothing.
  CHECK(cache.put("huge", entry_of(in_memory("12345678901"))) == nullptr);
  CHECK_FALSE(holds(cache, "huge"));
  CHECK(holds(cache, "four"));
  CHECK(holds(cache, "one"));
  CHECK(cache.content_bytes() == 5);
}

TEST_CASE("FileCache: limits of zero store nothing", "[static][file_cache]") {
  FileCacheLimits no_entries;
  no_entries.max_entries = 0;
  FileCache nothing(no_entries);
  CHECK(nothing.put("a", entry_of(in_memory("a"))) == nullptr);
  CHECK(nothing.size() == 0);

  FileCacheLimits no_open_files;
  no_open_files.max_open_files = 0;
  FileCache memory_only(no_open_files);
  CHECK(memory_only.put("open", entry_of(open_file())) == nullptr);
  CHECK(memory_only.put("memory", entry_of(in_memory("m"))) != nullptr);
  CHECK(memory_only.size() == 1);
}

TEST_CASE("FileCache: release_open_files lets go of every open file only", "[static][file_cache]") {
  FileCache cache;
  std::weak_ptr<const FileVersion> open_version;
  {
    auto version = open_file();
    open_version = version;
    cache.put("open", entry_of(std::move(version)));
  }
  cache.put("memory", entry_of(in_memory("m")));
  REQUIRE_FALSE(open_version.expired());
  cache.release_open_files();
  CHECK(open_version.expired());
  CHECK(cache.open_files() == 0);
  CHECK(holds(cache, "memory"));
}

TEST_CASE("ThreadLocalFileCache: one cache per thread, freed when the thread exits", "[static][file_cache]") {
  ThreadLocalFileCache caches;
  FileCache& mine = caches.local();
  CHECK(&caches.local() == &mine);

  std::weak_ptr<const FileVersion> cached_by_thread;
  const FileCache* theirs = nullptr;
  std::thread worker([&] {
    FileCache& cache = caches.local();
    theirs = &cache;
    auto version = open_file();
    cached_by_thread = version;
    cache.put("a.txt", entry_of(std::move(version)));
  });
  worker.join();
  CHECK(theirs != &mine);
  CHECK(cached_by_thread.expired());
  CHECK(mine.find("a.txt") == nullptr);
}

TEST_CASE("ThreadLocalFileCache: an owner's caches go with it", "[static][file_cache]") {
  std::weak_ptr<const FileVersion> cached;
  {
    ThreadLocalFileCache gone;
    auto version = open_file();
    cached = version;
    gone.local().put("a.txt", entry_of(std::move(version)));
  }
  // This thread notices the next time it asks for any cache.
  ThreadLocalFileCache next;
  CHECK(next.local().size() == 0);
  CHECK(cached.expired());
}
