// The MIME table: the common web types, sorted by extension so lookup is a binary search.
#include "pulse/handlers/static/mime_types.hpp"

#include <algorithm>
#include <array>

namespace pulse::handlers::static_files {
namespace {

// Longest extension in the table, rounded up: longer ones cannot match, so they skip the search.
constexpr std::size_t kMaxExtensionBytes = 16;

constexpr std::array kMimeTable{
    MimeType{"7z", "application/x-7z-compressed"},
    MimeType{"aac", "audio/aac"},
    MimeType{"apng", "image/apng"},
    MimeType{"atom", "application/atom+xml"},
    MimeType{"avif", "image/avif"},
    MimeType{"bmp", "image/bmp"},
    MimeType{"bz2", "application/x-bzip2"},
    MimeType{"css", "text/css; charset=utf-8"},
    MimeType{"csv", "text/csv; charset=utf-8"},
    MimeType{"eot", "application/vnd.ms-fontobject"},
    MimeType{"epub", "application/epub+zip"},
    MimeType{"flac", "audio/flac"},
    MimeType{"gif", "image/gif"},
    MimeType{"gz", "application/gzip"},
    MimeType{"htm", "text/html; charset=utf-8"},
    MimeType{"html", "text/html; charset=utf-8"},
    MimeType{"ico", "image/x-icon"},
    MimeType{"ics", "text/calendar; charset=utf-8"},
    MimeType{"jpeg", "image/jpeg"},
    MimeType{"jpg", "image/jpeg"},
    MimeType{"js", "text/javascript; charset=utf-8"},  // RFC 9239
    MimeType{"json", "application/json"},              // RFC 8259: UTF-8 by definition, no charset
    MimeType{"jsonld", "application/ld+json"},
    MimeType{"jxl", "image/jxl"},
    MimeType{"m4a", "audio/mp4"},
    MimeType{"map", "application/json"},
    MimeType{"md", "text/markdown; charset=utf-8"},
    MimeType{"mjs", "text/javascript; charset=utf-8"},
    MimeType{"mov", "video/quicktime"},
    MimeType{"mp3", "audio/mpeg"},
    MimeType{"mp4", "video/mp4"},
    MimeType{"mpeg", "video/mpeg"},
    MimeType{"oga", "audio/ogg"},
    MimeType{"ogg", "audio/ogg"},
    MimeType{"ogv", "video/ogg"},
    MimeType{"opus", "audio/ogg"},
    MimeType{"otf", "font/otf"},
    MimeType{"pdf", "application/pdf"},
    MimeType{"png", "image/png"},
    MimeType{"rss", "application/rss+xml"},
    MimeType{"svg", "image/svg+xml"},
    MimeType{"tar", "application/x-tar"},
    MimeType{"tif", "image/tiff"},
    MimeType{"tiff", "image/tiff"},
    MimeType{"ttf", "font/ttf"},
    MimeType{"txt", "text/plain; charset=utf-8"},
    MimeType{"vtt", "text/vtt; charset=utf-8"},
    MimeType{"wasm", "application/wasm"},
    MimeType{"wav", "audio/wav"},
    MimeType{"weba", "audio/webm"},
    MimeType{"webm", "video/webm"},
    MimeType{"webmanifest", "application/manifest+json"},
    MimeType{"webp", "image/webp"},
    MimeType{"woff", "font/woff"},
    MimeType{"woff2", "font/woff2"},
    MimeType{"xhtml", "application/xhtml+xml"},
    MimeType{"xml", "application/xml"},
    MimeType{"xz", "application/x-xz"},
    MimeType{"yaml", "application/yaml"},
    MimeType{"yml", "application/yaml"},
    MimeType{"zip", "application/zip"},
    MimeType{"zst", "application/zstd"},
};

constexpr bool extension_less(const MimeType& a, const MimeType& b) noexcept {
  return a.extension < b.extension;
}

static_assert(std::is_sorted(kMimeTable.begin(), kMimeTable.end(), extension_less),
              "kMimeTable must stay sorted by extension: lookup is a binary search");
static_assert(std::all_of(kMimeTable.begin(), kMimeTable.end(),
                          [](const MimeType& m) { return m.extension.size() <= kMaxExtensionBytes; }));

}  // namespace

std::span<const MimeType> mime_table() noexcept {
  return kMimeTable;
}

std::string_view mime_type_for(std::string_view file_name) noexcept {
  return mime_type_at(mime_index_for(file_name));
}

std::string_view mime_type_at(std::size_t index) noexcept {
  return index < kMimeTable.size() ? kMimeTable[index].type : kDefaultMimeType;
}

std::size_t mime_index_for(std::string_view file_name) noexcept {
  constexpr std::size_t kDefault = kMimeTable.size();
  const auto slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  const auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return kDefault;
  const std::string_view extension = file_name.substr(dot + 1);
  if (extension.empty() || extension.size() > kMaxExtensionBytes) return kDefault;

  std::array<char, kMaxExtensionBytes> lower{};
  std::transform(extension.begin(), extension.end(), lower.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  const MimeType key{std::string_view(lower.data(), extension.size()), {}};
  const auto it = std::lower_bound(kMimeTable.begin(), kMimeTable.end(), key, extension_less);
  if (it == kMimeTable.end() || it->extension != key.extension) return kDefault;
  return static_cast<std::size_t>(it - kMimeTable.begin());
}

}  // namespace pulse::handlers::static_files
