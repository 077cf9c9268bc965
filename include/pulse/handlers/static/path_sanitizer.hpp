// Request path -> path relative to the docroot: percent-decoded once, dot segments resolved,
// never above the root. Pure: no filesystem access, so it is table-tested and fuzzed.
#pragma once

#include <string>
#include <string_view>

namespace pulse::handlers::static_files {

enum class PathStatus {
  kOk,
  kNotAbsolute,  // does not start with '/'
  kBadEscape,    // '%' not followed by two hex digits
  kControlByte,  // a decoded byte below 0x20 or 0x7f (includes %00)
  kAboveRoot,    // ".." would climb above the docroot
};

[[nodiscard]] std::string_view to_string(PathStatus status) noexcept;

struct SanitizedPath {
  PathStatus status = PathStatus::kOk;
  // "" names the root; otherwise components joined by '/', none empty, "." or "..".
  std::string relative;
  // The request named a directory: it ended in '/', "/." or "/.." (RFC 3986 section 5.2.4).
  bool directory_form = false;
  // Some component is hidden (see is_hidden_name), e.g. "/.git/config" or "/a/.env".
  bool has_hidden_component = false;

  [[nodiscard]] bool ok() const noexcept { return status == PathStatus::kOk; }
};

// `raw_path` is the request path as sent (before '?', still percent-encoded).
[[nodiscard]] SanitizedPath sanitize_path(std::string_view raw_path);

// A dotfile or dot-directory. ".well-known" is not hidden: RFC 8615 reserves it for metadata
// meant to be public (ACME challenges, security.txt).
[[nodiscard]] bool is_hidden_name(std::string_view name) noexcept;

// Percent-encodes a decoded path for use in a URL (Location, autoindex links). '/' is kept;
// ':' is encoded so that a relative link to "javascript:x" cannot read as a scheme.
[[nodiscard]] std::string encode_path(std::string_view decoded);

}  // namespace pulse::handlers::static_files
