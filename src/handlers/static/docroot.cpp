// Docroot: opening and listing files beneath the root, with openat2 confining resolution in the
// kernel, or a user-space walk that gives the same answers where openat2 is unavailable.
#include "pulse/handlers/static/docroot.hpp"

#include <dirent.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <string>

#include "pulse/base/system_error.hpp"
#include "pulse/handlers/static/path_sanitizer.hpp"

namespace pulse::handlers::static_files {
namespace {

// openat2 answers EAGAIN when a rename or mount raced with a RESOLVE_BENEATH lookup and asks us
// to retry; EINTR is possible on some filesystems. Both are retried this many times.
constexpr int kMaxOpenRetries = 8;
// Directories the walk holds open at once: a deeper path fails with ENAMETOOLONG.
constexpr std::size_t kMaxWalkDepth = 256;
constexpr std::size_t kDirentBufferBytes = 32 * 1024;

std::error_code error_of(int value) noexcept {
  return {value, std::system_category()};
}

// Pushes the components of `path` onto `pending` so that the first component is on top.
void push_components(std::string_view path, std::vector<std::string>& pending) {
  std::vector<std::string> components;
  while (true) {
    const auto slash = path.find('/');
    components.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  pending.insert(pending.end(), std::make_move_iterator(components.rbegin()),
                 std::make_move_iterator(components.rend()));
}

// The target of the symlink open (O_PATH) as `fd`.
std::error_code read_link(int fd, std::string& target) {
  std::array<char, PATH_MAX> buffer{};
  const ssize_t n = ::readlinkat(fd, "", buffer.data(), buffer.size());
  if (n < 0) return base::last_error();
  if (static_cast<std::size_t>(n) == buffer.size()) return error_of(ENAMETOOLONG);
  target.assign(buffer.data(), static_cast<std::size_t>(n));
  return {};
}

std::chrono::sys_seconds modified_time(const struct stat& status) {
  return std::chrono::sys_seconds(std::chrono::seconds(status.st_mtim.tv_sec));
}

}  // namespace

Docroot::Docroot(const std::filesystem::path& root, Resolver resolver)
    : root_(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)), use_walk_(resolver == Resolver::kWalk) {
  if (!root_) base::throw_last_error("open document root " + root.string());
}

OpenedFile Docroot::open(std::string_view relative, int flags) const {
  OpenedFile result;
  std::error_code error;
  if (relative.find('\0') != std::string_view::npos) {
    error = error_of(EINVAL);  // the C path would silently stop at the NUL
  } else if (relative.size() >= PATH_MAX) {
    error = error_of(ENAMETOOLONG);
  } else if (use_walk_.load(std::memory_order_relaxed)) {
    error = open_with_walk(relative, flags, result.fd);
  } else {
    error = open_with_openat2(relative, flags, result.fd);
  }
  if (!error && ::fstat(result.fd.get(), &result.status) != 0) error = base::last_error();
  if (error) {
    result.fd.reset();
    result.error = error;
  }
  return result;
}

std::error_code Docroot::open_with_openat2(std::string_view relative, int flags, base::UniqueFd& out) const {
  const std::string path = relative.empty() ? std::string(".") : std::string(relative);
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags) | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0; attempt < kMaxOpenRetries; ++attempt) {
    const long fd = ::syscall(SYS_openat2, root_.get(), path.c_str(), &how, sizeof how);
    if (fd >= 0) {
      out.reset(static_cast<int>(fd));
      return {};
    }
    if (errno == ENOSYS) {
      // Old kernel or a seccomp profile that denies openat2: walk from now on, in every thread.
      use_walk_.store(true, std::memory_order_relaxed);
      return open_with_walk(relative, flags, out);
    }
    if (errno != EAGAIN && errno != EINTR) return base::last_error();
  }
  return error_of(EAGAIN);
}

// One openat(O_NOFOLLOW) per component. ".." is answered from our own stack of open directories,
// never from the filesystem's "..", which a concurrent rename could move outside the root; symlink
// targets are read and resolved by this same loop, so nothing is ever followed by the kernel.
std::error_code Docroot::open_with_walk(std::string_view relative, int flags, base::UniqueFd& out) const {
  if (!relative.empty() && relative.front() == '/') return error_of(EXDEV);  // as RESOLVE_BENEATH says
  std::vector<base::UniqueFd> parents;  // directories entered below the root, innermost last
  std::vector<std::string> pending;     // components still to resolve, the next one last
  push_components(relative, pending);
  int symlink_hops = 0;
  const auto current = [&] { return parents.empty() ? root_.get() : parents.back().get(); };

  while (!pending.empty()) {
    const std::string name = std::move(pending.back());
    pending.pop_back();
    if (name.empty() || name == ".") continue;
    if (name == "..") {
      if (parents.empty()) return error_of(EXDEV);
      parents.pop_back();
      continue;
    }
    base::UniqueFd fd(::openat(current(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return base::last_error();
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) return base::last_error();

    if (S_ISLNK(status.st_mode)) {
      if (++symlink_hops > kMaxSymlinkHops) return error_of(ELOOP);
      std::string target;
      if (const auto error = read_link(fd.get(), target)) return error;
      if (target.empty()) return error_of(ENOENT);
      if (target.front() == '/') return error_of(EXDEV);  // absolute links leave the root by definition
      push_components(target, pending);
      continue;
    }
    if (pending.empty()) {
      // The last component. Reopened by name with O_NOFOLLOW: a symlink swapped in since the
      // fstat above fails with ELOOP instead of being followed.
      out.reset(::openat(current(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
      return out ? std::error_code{} : base::last_error();
    }
    if (!S_ISDIR(status.st_mode)) return error_of(ENOTDIR);
    if (parents.size() >= kMaxWalkDepth) return error_of(ENAMETOOLONG);
    parents.push_back(std::move(fd));
  }
  // The path ended on a directory ("", "a/.", a link to "sub/.."): open the one we are in.
  out.reset(::openat(current(), ".", flags | O_CLOEXEC));
  return out ? std::error_code{} : base::last_error();
}

std::error_code Docroot::list(std::string_view relative, bool include_hidden, std::size_t max_entries,
                              DirectoryListing& out) const {
  out = {};
  const OpenedFile directory = open(relative, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
  if (!directory) return directory.error;

  alignas(dirent64) std::array<char, kDirentBufferBytes> buffer;
  while (true) {
    const ssize_t n = ::getdents64(directory.fd.get(), buffer.data(), buffer.size());
    if (n < 0) return base::last_error();
    if (n == 0) return {};
    for (ssize_t offset = 0; offset < n;) {
      const auto* record = reinterpret_cast<const dirent64*>(buffer.data() + offset);
      offset += record->d_reclen;
      const std::string_view name(record->d_name);
      if (name == "." || name == "..") continue;
      if (!include_hidden && is_hidden_name(name)) continue;
      if (out.entries.size() >= max_entries) {
        out.truncated = true;
        return {};
      }
      // Described only if it opens beneath the root: an escaping symlink is not even sized.
      std::string child = relative.empty() ? std::string(name) : std::string(relative) + "/" + std::string(name);
      const OpenedFile entry = open(child, O_PATH | O_CLOEXEC);
      if (!entry) continue;
      const bool is_directory = S_ISDIR(entry.status.st_mode);
      if (!is_directory && !S_ISREG(entry.status.st_mode)) continue;
      out.entries.push_back({std::string(name), is_directory,
                             is_directory ? 0 : static_cast<std::uint64_t>(entry.status.st_size),
                             modified_time(entry.status)});
    }
  }
}

}  // namespace pulse::handlers::static_files
