// Docroot: every filesystem access beneath the document root, none of which can escape it,
// whatever the path or the symlinks on disk say.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pulse/base/unique_fd.hpp"

namespace pulse::handlers::static_files {

// Symlinks followed while resolving one path: the kernel's own limit (MAXSYMLINKS).
inline constexpr int kMaxSymlinkHops = 40;

// Files are opened non-blocking so that a FIFO in the docroot cannot stall a worker in open().
inline constexpr int kReadOpenFlags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

struct OpenedFile {
  base::UniqueFd fd;
  struct stat status {};
  std::error_code error;  // set exactly when fd is invalid

  explicit operator bool() const noexcept { return fd.valid(); }
};

// One entry of a directory listing, as the docroot read it.
struct DirectoryEntry {
  std::string name;  // one path component, as stored on disk
  bool is_directory = false;
  std::uint64_t size = 0;
  std::chrono::sys_seconds modified{};
  friend bool operator==(const DirectoryEntry&, const DirectoryEntry&) = default;
};

struct DirectoryListing {
  std::vector<DirectoryEntry> entries;  // unsorted; only regular files and directories
  bool truncated = false;               // stopped at the entry limit
};

// Thread-safe: the root fd is read-only after construction.
class Docroot {
 public:
  enum class Resolver {
    // openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): the kernel resolves and confines.
    kOpenat2,
    // Component-by-component openat(O_NOFOLLOW) with symlinks expanded in user space against a
    // stack of open directories: the same answers, for kernels or seccomp profiles without
    // openat2. kOpenat2 switches to it by itself on ENOSYS.
    kWalk,
  };

  // Opens `root` once. Throws std::system_error naming the root when it is not a directory
  // that can be opened.
  explicit Docroot(const std::filesystem::path& root, Resolver resolver = Resolver::kOpenat2);

  // Opens `relative` (from sanitize_path: "" or "a/b/c") with `flags` and fstat()s it.
  // Errors: ENOENT/ENOTDIR (missing), EXDEV (would leave the root), ELOOP (too many symlinks),
  // EACCES, ENAMETOOLONG, EMFILE, ...
  [[nodiscard]] OpenedFile open(std::string_view relative, int flags = kReadOpenFlags) const;

  // Lists the directory `relative`. Entries are resolved like open(), so a symlink leading out
  // of the root is left out rather than described; hidden names are left out unless asked for.
  [[nodiscard]] std::error_code list(std::string_view relative, bool include_hidden, std::size_t max_entries,
                                     DirectoryListing& out) const;

  [[nodiscard]] Resolver resolver() const noexcept {
    return use_walk_.load(std::memory_order_relaxed) ? Resolver::kWalk : Resolver::kOpenat2;
  }

 private:
  [[nodiscard]] std::error_code open_with_openat2(std::string_view relative, int flags, base::UniqueFd& out) const;
  [[nodiscard]] std::error_code open_with_walk(std::string_view relative, int flags, base::UniqueFd& out) const;

  base::UniqueFd root_;
  // Set once openat2 answers ENOSYS; from then on every worker walks.
  mutable std::atomic<bool> use_walk_;
};

}  // namespace pulse::handlers::static_files
