// The HTML page listing a directory (--autoindex): escaped names, sizes, dates, sorted, parent link.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/handlers/static/docroot.hpp"
#include "pulse/http/response.hpp"

namespace pulse::handlers::static_files {

// Directories first, then files; each group by name, byte-wise.
void sort_entries(std::vector<DirectoryEntry>& entries);

// `url_path` is the decoded path of the directory ("/docs/"): the page's title. The root gets no
// parent link. `truncated` adds a note that the listing stopped at its limit.
[[nodiscard]] std::string render_autoindex(std::string_view url_path, std::vector<DirectoryEntry> entries,
                                           bool truncated);

// The one HTML escaper (pulse/http/response.hpp), used for listings too.
using http::escape_html;

// "512 B", "1.5 KiB", "20.0 MiB": what a person reads in a listing.
[[nodiscard]] std::string format_size(std::uint64_t bytes);

}  // namespace pulse::handlers::static_files
