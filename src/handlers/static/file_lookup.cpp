// FileLookup: when a cached file may be used as it is, when it must be checked or resolved again,
// and when its bytes may be copied into memory.
#include "pulse/handlers/static/file_lookup.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <string>

namespace pulse::handlers::static_files {

FileLookup::FileLookup(const Docroot& docroot, const FileCacheOptions& options, FileCache* cache,
                       base::MonotonicClock::time_point now)
    : docroot_(docroot), options_(options), cache_(cache), now_(now) {}

std::shared_ptr<const FileVersion> FileLookup::cached(std::string_view path) {
  if (cache_ == nullptr) return nullptr;
  FileCache::Entry* entry = cache_->find(path);
  if (entry == nullptr) return nullptr;
  if (now_ - entry->validated_at < options_.revalidate_after) {
    if (entry->version->in_memory()) return entry->version;
    // st_nlink drops to 0 when the file is removed, or renamed over by its next version.
    struct stat status {};
    if (::fstat(entry->version->fd->get(), &status) == 0 && status.st_nlink > 0 &&
        same_version(status, entry->version->status)) {
      return move_into_memory_if_settled(path, *entry);
    }
  }
  return revalidate(path, entry->version);
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): a copy, since open() may free the original.
std::shared_ptr<const FileVersion> FileLookup::revalidate(std::string_view path,
                                                          std::shared_ptr<const FileVersion> previous) {
  OpenedFile file = open(path);
  if (!file || !S_ISREG(file.status.st_mode)) {
    // The uncached path gives the answer (404, 403, a redirect for a directory...).
    cache_->erase(path);
    return nullptr;
  }
  // open() may have emptied the cache to free descriptors: look the entry up again.
  FileCache::Entry* entry = cache_->find(path);
  if (entry == nullptr || !same_version(file.status, previous->status)) return remember(path, std::move(file));
  // Still the same file: keep what we had, bytes in memory or a descriptor responses may share.
  entry->validated_at = now_;
  entry->gzip_sibling_missing = false;
  return move_into_memory_if_settled(path, *entry);
}

OpenedFile FileLookup::open(std::string_view path) {
  OpenedFile file = docroot_.open(path);
  const int error = file.error.value();
  if (!file && cache_ != nullptr && cache_->open_files() > 0 && (error == EMFILE || error == ENFILE)) {
    cache_->release_open_files();
    file = docroot_.open(path);
  }
  return file;
}

std::shared_ptr<const FileVersion> FileLookup::remember(std::string_view path, OpenedFile file) {
  std::shared_ptr<const FileVersion> version =
      describe_file(std::make_shared<const base::UniqueFd>(std::move(file.fd)), file.status);
  if (cache_ == nullptr) return version;
  if (may_hold_in_memory(file.status)) {
    // The descriptor closes here when the copy succeeds: a file in memory keeps none open.
    if (auto loaded = load_into_memory(*version)) version = std::move(loaded);
  }
  cache_->put(path, {version, now_, false});
  return version;
}

std::shared_ptr<const FileVersion> FileLookup::gzip_sibling(std::string_view path) {
  const std::string gzip_path = std::string(path).append(kGzipSuffix);
  if (cache_ != nullptr) {
    if (const auto* plain = cache_->find(path); plain != nullptr && plain->gzip_sibling_missing) return nullptr;
    if (auto version = cached(gzip_path)) return version;
  }
  OpenedFile file = open(gzip_path);
  if (file && S_ISREG(file.status.st_mode)) return remember(gzip_path, std::move(file));
  // Kept on the plain file's entry, so the sibling is looked for again when that is revalidated.
  if (cache_ != nullptr) {
    if (auto* plain = cache_->find(path)) plain->gzip_sibling_missing = true;
  }
  return nullptr;
}

std::shared_ptr<const FileVersion> FileLookup::move_into_memory_if_settled(std::string_view path,
                                                                           FileCache::Entry& entry) {
  if (entry.version->in_memory() || !may_hold_in_memory(entry.version->status)) return entry.version;
  std::shared_ptr<const FileVersion> loaded = load_into_memory(*entry.version);
  if (!loaded) return entry.version;
  // put() moves the entry to the in-memory list; `entry` is not used after it.
  cache_->put(path, {loaded, entry.validated_at, entry.gzip_sibling_missing});
  return loaded;
}

bool FileLookup::may_hold_in_memory(const struct stat& status) const {
  const auto size = static_cast<std::uint64_t>(status.st_size);
  return size <= options_.max_file_bytes && size <= options_.limits.max_content_bytes &&
         options_.limits.max_entries > 0 && settled(status, std::chrono::system_clock::now(), options_.settle_time);
}

}  // namespace pulse::handlers::static_files
