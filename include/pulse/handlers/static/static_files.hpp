// StaticFiles: serves GET/HEAD from a docroot that no path or symlink can escape.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "pulse/handlers/static/file_cache.hpp"
#include "pulse/http/handler.hpp"

namespace pulse::handlers::static_files {

// An autoindex page lists at most this many entries (a huge directory must not cost a huge page).
inline constexpr std::size_t kMaxAutoindexEntries = 10'000;

struct StaticFilesOptions {
  std::filesystem::path root = "www";
  bool serve_dotfiles = false;
  bool autoindex = false;
  std::string cache_control;   // empty: no Cache-Control header
  bool precompressed = false;  // serve file.gz to clients that accept gzip
  // Resolve paths with the user-space walk even where openat2 works. For tests: it is the
  // path taken under seccomp profiles that deny openat2, and must answer exactly the same.
  bool force_path_walk = false;
  // Each worker thread remembers the files it served (see FileLookup for how they stay fresh).
  FileCacheOptions cache;
};

// Thread-safe: handle() may run on every worker thread at once; what it caches, it caches per thread.
class StaticFiles final : public http::Handler {
 public:
  // Opens the docroot once. Throws std::system_error naming the root if it cannot be opened.
  explicit StaticFiles(StaticFilesOptions options);
  ~StaticFiles() override;
  [[nodiscard]] http::Response handle(const http::Request& request) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pulse::handlers::static_files
