// FileCache: docroot-relative paths -> the file versions they resolved to, bounded and least
// recently used first out; one per worker thread (ThreadLocalFileCache), so no locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pulse/base/monotonic_clock.hpp"
#include "pulse/handlers/static/file_version.hpp"

namespace pulse::handlers::static_files {

// A path's cached resolution is trusted this long, then the path is resolved again: a file
// replaced, removed or re-pointed by a symlink is never served stale past it (DESIGN.md).
inline constexpr std::chrono::milliseconds kFileCacheRevalidateAfter{1000};
// Files up to this size are held in memory and leave with their headers in one write; larger
// ones keep an open descriptor for sendfile().
inline constexpr std::uint64_t kFileCacheMaxFileBytes = 32 * 1024;
// A file changed more recently than this is not copied into memory (see settled()). Two seconds
// covers the coarsest file timestamps in use (FAT).
inline constexpr std::chrono::milliseconds kFileCacheSettleTime{2000};
// Per worker thread and StaticFiles instance. Open files are counted apart, because each holds a
// descriptor that accept() might need.
inline constexpr std::size_t kFileCacheMaxEntries = 1024;
inline constexpr std::size_t kFileCacheMaxOpenFiles = 64;
inline constexpr std::size_t kFileCacheMaxContentBytes = 16 * 1024 * 1024;

struct FileCacheLimits {
  std::size_t max_entries = kFileCacheMaxEntries;             // in memory or open
  std::size_t max_open_files = kFileCacheMaxOpenFiles;        // entries holding a descriptor
  std::size_t max_content_bytes = kFileCacheMaxContentBytes;  // file bytes held in memory
};

struct FileCacheOptions {
  bool enabled = true;
  std::chrono::milliseconds revalidate_after = kFileCacheRevalidateAfter;
  std::chrono::milliseconds settle_time = kFileCacheSettleTime;
  std::uint64_t max_file_bytes = kFileCacheMaxFileBytes;  // larger files are never held in memory
  FileCacheLimits limits;
};

// Not thread-safe: each thread has its own (ThreadLocalFileCache).
class FileCache {
 public:
  struct Entry {
    std::shared_ptr<const FileVersion> version;       // never null
    base::MonotonicClock::time_point validated_at{};  // when the path last resolved to `version`
    bool gzip_sibling_missing = false;                // "<path>.gz" did not open at validated_at
  };

  explicit FileCache(FileCacheLimits limits = {});
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;
  ~FileCache();

  // The entry for `path`, now the most recently used; null when absent. The pointer is valid
  // until the next put(), erase() or release_open_files(). Callers may update validated_at and
  // gzip_sibling_missing in place; a new version goes through put(), which files it by kind.
  [[nodiscard]] Entry* find(std::string_view path);
  // Stores `entry` for `path` in place of any other, then evicts the least recently used entries
  // until the limits hold again. Returns the stored entry, or null when the entry alone exceeds
  // the limits and was not stored.
  Entry* put(std::string_view path, Entry entry);
  void erase(std::string_view path);
  // Forgets every entry that holds an open file: what to do when the process runs out of them.
  // (A response still sending such a file keeps it open until it is done.)
  void release_open_files();

  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  [[nodiscard]] std::size_t open_files() const noexcept { return open_.size(); }
  [[nodiscard]] std::size_t content_bytes() const noexcept { return content_bytes_; }

 private:
  struct Node {
    std::string path;  // index_ keys view this string; list nodes never move, so neither does it
    Entry entry;
    std::uint64_t last_used = 0;
  };
  using List = std::list<Node>;

  [[nodiscard]] List& list_of(const Node& node) noexcept {
    return node.entry.version->in_memory() ? in_memory_ : open_;
  }
  void erase_node(List::iterator node);
  void evict_to_limits();

  FileCacheLimits limits_;
  std::unordered_map<std::string_view, List::iterator> index_;
  List in_memory_;  // most recently used first
  List open_;       // most recently used first
  std::uint64_t use_counter_ = 0;
  std::size_t content_bytes_ = 0;
};

// Gives each thread its own FileCache for one owner (one StaticFiles instance). The caches live in
// a thread_local and are freed when their thread exits; the caches of an owner that has been
// destroyed are freed by each thread the next time it asks for any cache.
class ThreadLocalFileCache {
 public:
  explicit ThreadLocalFileCache(FileCacheLimits limits = {});
  ThreadLocalFileCache(const ThreadLocalFileCache&) = delete;
  ThreadLocalFileCache& operator=(const ThreadLocalFileCache&) = delete;
  ~ThreadLocalFileCache();

  // The calling thread's cache, made on first use. The reference stays valid while both this
  // object and the calling thread exist.
  [[nodiscard]] FileCache& local() const;

 private:
  std::uint64_t id_;  // never reused in this process, unlike an address
  FileCacheLimits limits_;
  std::shared_ptr<const std::uint64_t> alive_;  // threads hold weak references to learn of our end
};

}  // namespace pulse::handlers::static_files
