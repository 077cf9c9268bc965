// FileVersion: one version of a regular file opened beneath the docroot: what identifies it, the
// validators its responses carry, and how its bytes are sent (from memory, or an open descriptor).
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pulse/base/unique_fd.hpp"
#include "pulse/http/conditional.hpp"

namespace pulse::handlers::static_files {

// Immutable once made, so that a cache may hand it to any number of responses.
struct FileVersion {
  struct stat status {};  // the fstat() everything below was derived from
  http::Validators validators;
  std::string last_modified_text;  // validators.last_modified as an IMF-fixdate
  // The file's mtime was later than the clock when this version was made. Last-Modified may not
  // claim a time after Date (RFC 9110 section 8.8.2.1), so such a version's date is made again
  // for each response (current_validators) rather than trusted.
  bool modified_in_future = false;
  // "ETag: ...\r\nLast-Modified: ...\r\n", what every response of this version carries, made
  // once; empty when modified_in_future (then they are made per response).
  std::string validator_lines;
  // Exactly one is set: the open file (sent with sendfile), or all of its bytes.
  std::shared_ptr<const base::UniqueFd> fd;
  std::shared_ptr<const std::string> content;  // shared with every response that sends it

  [[nodiscard]] std::uint64_t size() const noexcept { return static_cast<std::uint64_t>(status.st_size); }
  [[nodiscard]] bool in_memory() const noexcept { return content != nullptr; }
};

// The version of the open file `fd`, described by `status` (its fstat()).
[[nodiscard]] std::shared_ptr<const FileVersion> describe_file(std::shared_ptr<const base::UniqueFd> fd,
                                                               const struct stat& status);

// A copy of `version` holding the file's bytes instead of its descriptor; null when the file
// changed while it was read, or cannot be read. Only sound for a settled file (see settled()).
[[nodiscard]] std::shared_ptr<const FileVersion> load_into_memory(const FileVersion& version);

// The validators for a response sent now: version.validators, unless the file's mtime was in the
// future when the version was made.
[[nodiscard]] http::Validators current_validators(const FileVersion& version);

// True when `a` and `b` describe the same file with the same contents as far as stat() can tell:
// same device and inode, size, mtime and ctime. Any write, truncation, chmod or utimensat() moves
// ctime, and nothing can set ctime back.
[[nodiscard]] bool same_version(const struct stat& a, const struct stat& b) noexcept;

// True when the file has not changed for `settle_time` before `now` (wall clock, as file times are).
// Only then may its bytes be copied: a later write is sure to move ctime past what we recorded,
// whereas a write within the same filesystem timestamp tick as the last one could leave size,
// mtime and ctime as they were, and a copy would go stale unnoticed.
[[nodiscard]] bool settled(const struct stat& status, std::chrono::system_clock::time_point now,
                           std::chrono::milliseconds settle_time) noexcept;

}  // namespace pulse::handlers::static_files
