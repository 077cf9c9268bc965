// Autoindex: escaping of hostile names, order, parent link, sizes and dates.
#include "pulse/handlers/static/autoindex.hpp"

#include <catch2/catch.hpp>

#include <string>

using pulse::handlers::static_files::DirectoryEntry;
using pulse::handlers::static_files::escape_html;
using pulse::handlers::static_files::format_size;
using pulse::handlers::static_files::render_autoindex;
using pulse::handlers::static_files::sort_entries;

namespace {

const std::chrono::sys_seconds kNoon{std::chrono::seconds{1767268800}};  // 2026-01-01 12:00 UTC

DirectoryEntry file(std::string name, std::uint64_t size = 10) {
  return {std::move(name), false, size, kNoon};
}
DirectoryEntry dir(std::string name) {
  return {std::move(name), true, 0, kNoon};
}

}  // namespace

TEST_CASE("escape_html: the five characters", "[static][autoindex]") {
  CHECK(escape_html("<a href=\"x\">Tom & Jerry's</a>") ==
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  CHECK(escape_html("plain") == "plain");
}

TEST_CASE("format_size: bytes, then binary units with one decimal", "[static][autoindex]") {
  CHECK(format_size(0) == "0 B");
  CHECK(format_size(1023) == "1023 B");
  CHECK(format_size(1024) == "1.0 KiB");
  CHECK(format_size(1536) == "1.5 KiB");
  CHECK(format_size(5 * 1024 * 1024) == "5.0 MiB");
  CHECK(format_size(3ULL << 30) == "3.0 GiB");
}

TEST_CASE("sort_entries: directories first, then names byte-wise", "[static][autoindex]") {
  std::vector<DirectoryEntry> entries{file("b.txt"), dir("zeta"), file("A.txt"), dir("alpha"), file("a.txt")};
  sort_entries(entries);
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"alpha", "zeta", "A.txt", "a.txt", "b.txt"});
}

TEST_CASE("render_autoindex: hostile names are escaped in text and links", "[static][autoindex]") {
  const auto page = render_autoindex("/up<loads>/",
                                     {file("<script>alert(1)</script>.txt"), file("a \"quoted\" & 'odd' name"),
                                      file("javascript:alert(1)"), file("hello world.txt"), file("caf\xC3\xA9.txt")},
                                     false);
  CHECK(page.find("<script>") == std::string::npos);
  CHECK(page.find("&lt;script&gt;alert(1)&lt;/script&gt;.txt</a>") != std::string::npos);
  CHECK(page.find("href=\"%3Cscript%3Ealert(1)%3C/script%3E.txt\"") != std::string::npos);
  CHECK(page.find("a &quot;quoted&quot; &amp; &#39;odd&#39; name</a>") != std::string::npos);
  CHECK(page.find("href=\"a%20%22quoted%22%20&amp;%20&#39;odd&#39;%20name\"") != std::string::npos);
  CHECK(page.find("href=\"javascript:") == std::string::npos);
  CHECK(page.find("href=\"javascript%3Aalert(1)\"") != std::string::npos);
  CHECK(page.find("href=\"hello%20world.txt\"") != std::string::npos);
  CHECK(page.find("href=\"caf%C3%A9.txt\">caf\xC3\xA9.txt</a>") != std::string::npos);
  CHECK(page.find("<title>Index of /up&lt;loads&gt;/</title>") != std::string::npos);
}

TEST_CASE("render_autoindex: order, parent link, sizes and dates", "[static][autoindex]") {
  const auto page = render_autoindex("/docs/", {file("z.txt", 2048), dir("sub"), file("a.txt", 5)}, false);
  const auto parent = page.find("href=\"../\"");
  const auto sub = page.find("href=\"sub/\">sub/</a>");
  const auto a = page.find("href=\"a.txt\"");
  const auto z = page.find("href=\"z.txt\"");
  REQUIRE(parent != std::string::npos);
  REQUIRE(sub != std::string::npos);
  REQUIRE(a != std::string::npos);
  REQUIRE(z != std::string::npos);
  CHECK(parent < sub);
  CHECK(sub < a);
  CHECK(a < z);
  CHECK(page.find("title=\"2048 bytes\">2.0 KiB</td>") != std::string::npos);
  CHECK(page.find("title=\"5 bytes\">5 B</td>") != std::string::npos);
  CHECK(page.find("2026-01-01 12:00") != std::string::npos);
  CHECK(page.find("cut short") == std::string::npos);
}

TEST_CASE("render_autoindex: the root has no parent link, truncation is said", "[static][autoindex]") {
  const auto page = render_autoindex("/", {file("a.txt")}, true);
  CHECK(page.find("href=\"../\"") == std::string::npos);
  CHECK(page.find("cut short") != std::string::npos);
  CHECK(page.find("<meta charset=\"utf-8\">") != std::string::npos);
}
