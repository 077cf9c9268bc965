// Autoindex page rendering. Pure: the entries come from Docroot::list, so the page is tested
// without a filesystem. Names are attacker-chosen bytes: every one is escaped for its context.
#include "pulse/handlers/static/autoindex.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "pulse/handlers/static/path_sanitizer.hpp"

namespace pulse::handlers::static_files {
namespace {

using namespace std::chrono;

std::string format_modified(sys_seconds when) {
  const auto day = floor<days>(when);
  const year_month_day date{day};
  const hh_mm_ss time{when - day};
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), time.hours().count(),
                     time.minutes().count());
}

// Inline so the listing looks right in any docroot, whatever stylesheets it has.
constexpr std::string_view kStyle =
    "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d2330}"
    "h1{font-size:1.3rem;word-break:break-all}table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.2rem .8rem .2rem 0;border-bottom:1px solid #e3e6ec}"
    "td.size{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.date{white-space:nowrap;font-variant-numeric:tabular-nums}a{color:#0b57d0;text-decoration:none}"
    "a:hover{text-decoration:underline}footer{margin-top:1rem;color:#6b7280;font-size:.85rem}";

}  // namespace

std::string format_size(std::uint64_t bytes) {
  static constexpr std::array<std::string_view, 6> kUnits{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kUnits.size()) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

void sort_entries(std::vector<DirectoryEntry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const DirectoryEntry& a, const DirectoryEntry& b) {
    if (a.is_directory != b.is_directory) return a.is_directory;
    return a.name < b.name;
  });
}

std::string render_autoindex(std::string_view url_path, std::vector<DirectoryEntry> entries, bool truncated) {
  sort_entries(entries);
  const std::string title = escape_html(url_path);
  std::string page = fmt::format(
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>Index of {0}</title>\n<style>{1}</style>\n</head>\n<body>\n<h1>Index of {0}</h1>\n"
      "<table>\n<thead><tr><th>Name</th><th>Size</th><th>Last modified (UTC)</th></tr></thead>\n<tbody>\n",
      title, kStyle);
  if (url_path != "/") {
    page += "<tr><td><a href=\"../\">../</a></td><td class=\"size\">-</td><td class=\"date\"></td></tr>\n";
  }
  for (const auto& entry : entries) {
    // The link is percent-encoded (a path), then HTML-escaped (an attribute); the text only escaped.
    const std::string suffix = entry.is_directory ? "/" : "";
    fmt::format_to(std::back_inserter(page),
                   "<tr><td><a href=\"{0}{2}\">{1}{2}</a></td><td class=\"size\"{5}>{3}</td>"
                   "<td class=\"date\">{4}</td></tr>\n",
                   escape_html(encode_path(entry.name)), escape_html(entry.name), suffix,
                   entry.is_directory ? std::string("-") : format_size(entry.size), format_modified(entry.modified),
                   entry.is_directory ? std::string{} : fmt::format(" title=\"{} bytes\"", entry.size));
  }
  page += "</tbody>\n</table>\n";
  if (truncated) page += "<p>This listing was cut short: the directory holds too many entries.</p>\n";
  page += "<footer>pulsehttpd</footer>\n</body>\n</html>\n";
  return page;
}

}  // namespace pulse::handlers::static_files
