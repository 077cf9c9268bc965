// MIME lookup: the table's invariants and the types browsers need to get right.
#include "pulse/handlers/static/mime_types.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using pulse::handlers::static_files::kDefaultMimeType;
using pulse::handlers::static_files::mime_table;
using pulse::handlers::static_files::mime_index_for;
using pulse::handlers::static_files::mime_type_at;
using pulse::handlers::static_files::mime_type_for;

TEST_CASE("mime table: sorted, unique, lower case, at least 40 types", "[static][mime]") {
  const auto table = mime_table();
  REQUIRE(table.size() >= 40);
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < table.size(); ++i) {
    INFO(table[i].extension);
    if (i > 0) CHECK(table[i - 1].extension < table[i].extension);
    CHECK(seen.insert(table[i].extension).second);
    for (const char c : table[i].extension) CHECK_FALSE((c >= 'A' && c <= 'Z'));
    CHECK_FALSE(table[i].type.empty());
  }
}

TEST_CASE("mime table: every text type says charset=utf-8", "[static][mime]") {
  for (const auto& entry : mime_table()) {
    INFO(entry.extension << " -> " << entry.type);
    const bool is_text = entry.type.substr(0, 5) == "text/";
    CHECK(is_text == (entry.type.find("; charset=utf-8") != std::string_view::npos));
  }
}

TEST_CASE("mime_type_for: the common web types", "[static][mime]") {
  CHECK(mime_type_for("index.html") == "text/html; charset=utf-8");
  CHECK(mime_type_for("style.css") == "text/css; charset=utf-8");
  CHECK(mime_type_for("app.js") == "text/javascript; charset=utf-8");
  CHECK(mime_type_for("module.mjs") == "text/javascript; charset=utf-8");
  CHECK(mime_type_for("data.json") == "application/json");
  CHECK(mime_type_for("logo.svg") == "image/svg+xml");
  CHECK(mime_type_for("a.png") == "image/png");
  CHECK(mime_type_for("a.jpg") == "image/jpeg");
  CHECK(mime_type_for("a.jpeg") == "image/jpeg");
  CHECK(mime_type_for("a.gif") == "image/gif");
  CHECK(mime_type_for("a.webp") == "image/webp");
  CHECK(mime_type_for("a.avif") == "image/avif");
  CHECK(mime_type_for("favicon.ico") == "image/x-icon");
  CHECK(mime_type_for("font.woff2") == "font/woff2");
  CHECK(mime_type_for("app.wasm") == "application/wasm");
  CHECK(mime_type_for("clip.mp4") == "video/mp4");
  CHECK(mime_type_for("clip.webm") == "video/webm");
  CHECK(mime_type_for("paper.pdf") == "application/pdf");
  CHECK(mime_type_for("notes.txt") == "text/plain; charset=utf-8");
  CHECK(mime_type_for("feed.xml") == "application/xml");
  CHECK(mime_type_for("table.csv") == "text/csv; charset=utf-8");
  CHECK(mime_type_for("site.webmanifest") == "application/manifest+json");
}

TEST_CASE("mime_type_for: extension rules", "[static][mime]") {
  CHECK(mime_type_for("INDEX.HTML") == "text/html; charset=utf-8");
  CHECK(mime_type_for("Photo.JpG") == "image/jpeg");
  CHECK(mime_type_for("archive.tar.gz") == "application/gzip");  // the last extension decides
  CHECK(mime_type_for("docs/v1.2/readme.md") == "text/markdown; charset=utf-8");
  CHECK(mime_type_for("dir.d/README") == kDefaultMimeType);  // a dot in a directory is no extension
  CHECK(mime_type_for("README") == kDefaultMimeType);
  CHECK(mime_type_for(".bashrc") == kDefaultMimeType);
  CHECK(mime_type_for("trailing.") == kDefaultMimeType);
  CHECK(mime_type_for("binary.unknownext") == kDefaultMimeType);
  CHECK(mime_type_for("x.averyveryverylongextension") == kDefaultMimeType);
  CHECK(mime_type_for("") == kDefaultMimeType);
}

TEST_CASE("mime_index_for: the table's index of the type mime_type_for gives, its size for the default",
          "[static][mime]") {
  const auto table = mime_table();
  for (std::size_t i = 0; i < table.size(); ++i) {
    const std::string name = "file." + std::string(table[i].extension);
    INFO(name);
    CHECK(mime_index_for(name) == i);
    CHECK(mime_type_at(i) == table[i].type);
  }
  for (const char* name : {"README", ".bashrc", "archive.unknown", "a/b.c/d", "x."}) {
    INFO(name);
    CHECK(mime_index_for(name) == table.size());
    CHECK(mime_type_for(name) == kDefaultMimeType);
  }
  CHECK(mime_type_at(table.size()) == kDefaultMimeType);
  CHECK(mime_type_at(table.size() + 7) == kDefaultMimeType);
  CHECK(mime_index_for("PAGE.HTML") == mime_index_for("page.html"));
}
