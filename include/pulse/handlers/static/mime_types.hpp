// Content-Type of a file from its extension: a sorted table searched by binary search.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace pulse::handlers::static_files {

inline constexpr std::string_view kDefaultMimeType = "application/octet-stream";

struct MimeType {
  std::string_view extension;  // lower case, without the dot
  std::string_view type;       // text types carry "; charset=utf-8"
};

// The table, sorted by extension (exposed so that tests can check its invariants).
[[nodiscard]] std::span<const MimeType> mime_table() noexcept;

// Type for `file_name` by its last extension, case-insensitively; kDefaultMimeType when the
// name has no extension or an unknown one. A leading dot (".bashrc") is not an extension.
[[nodiscard]] std::string_view mime_type_for(std::string_view file_name) noexcept;

// The same lookup as an index: into mime_table(), or mime_table().size() for kDefaultMimeType
// (so that a caller can keep something per type in a vector of mime_table().size() + 1).
[[nodiscard]] std::size_t mime_index_for(std::string_view file_name) noexcept;

// The type at `index`, as mime_index_for() gives it.
[[nodiscard]] std::string_view mime_type_at(std::size_t index) noexcept;

}  // namespace pulse::handlers::static_files
