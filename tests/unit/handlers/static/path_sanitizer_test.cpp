// Table test of the path sanitiser: hostile and benign request paths, and what each becomes.
#include "pulse/handlers/static/path_sanitizer.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using pulse::handlers::static_files::encode_path;
using pulse::handlers::static_files::is_hidden_name;
using pulse::handlers::static_files::PathStatus;
using pulse::handlers::static_files::sanitize_path;

namespace {

struct Case {
  std::string raw;
  PathStatus status;
  std::string relative;  // when kOk
  bool directory_form;   // when kOk
  bool hidden;           // when kOk
};

// A relative path the sanitiser returns must be safe to hand to openat2 as is.
void require_canonical(const std::string& relative) {
  if (relative.empty()) return;
  REQUIRE(relative.front() != '/');
  REQUIRE(relative.back() != '/');
  std::string_view rest = relative;
  while (true) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    REQUIRE_FALSE(segment.empty());
    REQUIRE(segment != ".");
    REQUIRE(segment != "..");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
}

}  // namespace

TEST_CASE("sanitize_path: a table of hostile and benign paths", "[static][path]") {
  const std::vector<Case> cases{
      // Benign.
      {"/", PathStatus::kOk, "", true, false},
      {"/index.html", PathStatus::kOk, "index.html", false, false},
      {"/a/b/c.txt", PathStatus::kOk, "a/b/c.txt", false, false},
      {"/docs/", PathStatus::kOk, "docs", true, false},
      {"//a///b", PathStatus::kOk, "a/b", false, false},
      {"/a/./b", PathStatus::kOk, "a/b", false, false},
      {"/a/../b", PathStatus::kOk, "b", false, false},
      {"/a/b/..", PathStatus::kOk, "a", true, false},
      {"/a/.", PathStatus::kOk, "a", true, false},
      {"/a/b/../../c", PathStatus::kOk, "c", false, false},
      {"/hello%20world.txt", PathStatus::kOk, "hello world.txt", false, false},
      {"/caf%C3%A9.html", PathStatus::kOk, "caf\xC3\xA9.html", false, false},
      {"/caf\xC3\xA9.html", PathStatus::kOk, "caf\xC3\xA9.html", false, false},
      {"/a+b", PathStatus::kOk, "a+b", false, false},                     // '+' is a space only in queries
      {"/a..b", PathStatus::kOk, "a..b", false, false},                   // ".." inside a name is just a name
      {"/a\\..\\b", PathStatus::kOk, "a\\..\\b", false, false},           // backslash is no separator on Linux
      {"/%2fetc%2fpasswd", PathStatus::kOk, "etc/passwd", false, false},  // decoded slashes stay inside
      {"/%252e%252e/x", PathStatus::kOk, "%2e%2e/x", false, false},       // decoded once, not twice
      {"/.well-known/acme-challenge/t0k", PathStatus::kOk, ".well-known/acme-challenge/t0k", false, false},
      {"/a/.%2E", PathStatus::kOk, "", true, false},
      // Hidden components.
      {"/.git/config", PathStatus::kOk, ".git/config", false, true},
      {"/.env", PathStatus::kOk, ".env", false, true},
      {"/a/.hidden/b", PathStatus::kOk, "a/.hidden/b", false, true},
      {"/%2egit/HEAD", PathStatus::kOk, ".git/HEAD", false, true},
      {"/a/...", PathStatus::kOk, "a/...", false, true},
      {"/.well-known/.secret", PathStatus::kOk, ".well-known/.secret", false, true},
      // Above the root.
      {"/..", PathStatus::kAboveRoot, "", false, false},
      {"/../etc/passwd", PathStatus::kAboveRoot, "", false, false},
      {"/a/../../etc/passwd", PathStatus::kAboveRoot, "", false, false},
      {"/%2e%2e/etc/passwd", PathStatus::kAboveRoot, "", false, false},
      {"/%2E%2E%2Fetc%2Fpasswd", PathStatus::kAboveRoot, "", false, false},
      {"/..%2f..%2fetc", PathStatus::kAboveRoot, "", false, false},
      {"/.%2e/x", PathStatus::kAboveRoot, "", false, false},
      {"/a/%2e%2e/%2e%2e/x", PathStatus::kAboveRoot, "", false, false},
      {"/./../x", PathStatus::kAboveRoot, "", false, false},
      // Control bytes, however they arrive.
      {"/a%00.html", PathStatus::kControlByte, "", false, false},
      {"/index.html%00.png", PathStatus::kControlByte, "", false, false},
      {"/a%0d%0aSet-Cookie:%20x", PathStatus::kControlByte, "", false, false},
      {"/a%7f", PathStatus::kControlByte, "", false, false},
      {"/a%1b[31m", PathStatus::kControlByte, "", false, false},
      {"/tab%09", PathStatus::kControlByte, "", false, false},
      {std::string("/raw\x01"), PathStatus::kControlByte, "", false, false},
      // Malformed escapes.
      {"/%", PathStatus::kBadEscape, "", false, false},
      {"/%4", PathStatus::kBadEscape, "", false, false},
      {"/%zz", PathStatus::kBadEscape, "", false, false},
      {"/%G0x", PathStatus::kBadEscape, "", false, false},
      // Not origin-form.
      {"", PathStatus::kNotAbsolute, "", false, false},
      {"a/b", PathStatus::kNotAbsolute, "", false, false},
      {"*", PathStatus::kNotAbsolute, "", false, false},
      {"http://evil.example/x", PathStatus::kNotAbsolute, "", false, false},
      {"%2fetc", PathStatus::kNotAbsolute, "", false, false},
  };
  REQUIRE(cases.size() >= 30);

  for (const auto& c : cases) {
    INFO("path: " << c.raw);
    const auto result = sanitize_path(c.raw);
    REQUIRE(to_string(result.status) == to_string(c.status));
    if (c.status != PathStatus::kOk) continue;
    CHECK(result.relative == c.relative);
    CHECK(result.directory_form == c.directory_form);
    CHECK(result.has_hidden_component == c.hidden);
    require_canonical(result.relative);
  }
}

TEST_CASE("is_hidden_name: dotfiles but not .well-known", "[static][path]") {
  CHECK(is_hidden_name(".env"));
  CHECK(is_hidden_name(".git"));
  CHECK(is_hidden_name(".."));
  CHECK_FALSE(is_hidden_name(".well-known"));
  CHECK_FALSE(is_hidden_name("well.known"));
  CHECK_FALSE(is_hidden_name(""));
}

TEST_CASE("encode_path: percent-encodes what a URL cannot carry", "[static][path]") {
  CHECK(encode_path("/docs/index.html") == "/docs/index.html");
  CHECK(encode_path("hello world.txt") == "hello%20world.txt");
  CHECK(encode_path("caf\xC3\xA9") == "caf%C3%A9");
  CHECK(encode_path("x?y#z%") == "x%3Fy%23z%25");
  CHECK(encode_path("javascript:alert(1)") == "javascript%3Aalert(1)");
  CHECK(encode_path("<a href=\"\">") == "%3Ca%20href=%22%22%3E");
}

TEST_CASE("encode_path then sanitize_path gives the name back", "[static][path]") {
  const std::vector<std::string> names{"plain.txt", "with space", "caf\xC3\xA9", "100%",
                                       "a?b#c",     "semi;colon", "quote\"d",    "tab\tless"};
  for (const auto& name : names) {
    INFO(name);
    const auto result = sanitize_path("/dir/" + encode_path(name));
    if (name.find('\t') != std::string::npos) {
      CHECK(result.status == PathStatus::kControlByte);
    } else {
      REQUIRE(result.ok());
      CHECK(result.relative == "dir/" + name);
    }
  }
}
