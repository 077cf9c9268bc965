// FileLookup: docroot-relative path -> the current version of the regular file there, for one
// request, through the calling thread's FileCache and the rules that keep what it holds fresh.
#pragma once

#include <memory>
#include <string_view>

#include "pulse/handlers/static/docroot.hpp"
#include "pulse/handlers/static/file_cache.hpp"
#include "pulse/handlers/static/file_version.hpp"

namespace pulse::handlers::static_files {

inline constexpr std::string_view kGzipSuffix = ".gz";

// What a cached entry costs per request, and how it is kept fresh:
// - a file held in memory: nothing, while validated less than `revalidate_after` ago; then its path
//   is resolved again (openat2 + fstat) and compared with what was copied;
// - an open file: one fstat() of the open descriptor, which sees at once a write, a truncation, or
//   the file being removed or renamed over; its path is resolved again after `revalidate_after`
//   too, for the changes only a path shows (a symlink re-pointed, a hard link replaced);
// - a path that does not resolve to a regular file is not cached (errors, directories), except
//   that a missing "<file>.gz" is remembered until its plain file's next revalidation.
class FileLookup {
 public:
  // Without a cache (null), every lookup opens the file, as if nothing had been seen before.
  FileLookup(const Docroot& docroot, const FileCacheOptions& options, FileCache* cache,
             base::MonotonicClock::time_point now);

  // The cached version of the regular file at `path`, revalidated as the rules above say; null
  // when `path` is not cached or no longer leads to a regular file (then open() it and answer).
  [[nodiscard]] std::shared_ptr<const FileVersion> cached(std::string_view path);

  // Docroot::open. When the process is out of descriptors, the files the cache keeps open are
  // given back and the open tried once more: the cache never costs a request its file.
  [[nodiscard]] OpenedFile open(std::string_view path);

  // The version of `file`, a regular file just opened at `path`, remembered for later requests.
  [[nodiscard]] std::shared_ptr<const FileVersion> remember(std::string_view path, OpenedFile file);

  // The version of the regular file "<path>.gz", or null when there is none.
  [[nodiscard]] std::shared_ptr<const FileVersion> gzip_sibling(std::string_view path);

 private:
  // `previous` by value: open() may empty the cache that held it.
  [[nodiscard]] std::shared_ptr<const FileVersion> revalidate(std::string_view path,
                                                              std::shared_ptr<const FileVersion> previous);
  // Copies an open file's bytes into memory once it may be (see settled()), so that from then on
  // it costs no system call at all.
  [[nodiscard]] std::shared_ptr<const FileVersion> move_into_memory_if_settled(std::string_view path,
                                                                               FileCache::Entry& entry);
  [[nodiscard]] bool may_hold_in_memory(const struct stat& status) const;

  const Docroot& docroot_;
  const FileCacheOptions& options_;
  FileCache* cache_;
  base::MonotonicClock::time_point now_;
};

}  // namespace pulse::handlers::static_files
