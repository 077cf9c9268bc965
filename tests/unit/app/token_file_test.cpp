// Token files: lines, white space, CRLF, and the errors for bad lines, no token, an unreadable file.
#include "pulse/app/token_file.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/temp_dir.hpp"

using pulse::app::ConfigError;
using pulse::app::parse_token_lines;
using pulse::app::read_token_file;

namespace {

std::string error_of(std::string_view text) {
  try {
    (void)parse_token_lines(text, "--heartbeat-token-file", "tokens.txt");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a token a line, blank lines, white space and CR ignored", "[token_file]") {
  using Tokens = std::vector<std::string>;
  CHECK(parse_token_lines("one", "f", "p") == Tokens{"one"});
  CHECK(parse_token_lines("one\ntwo\n", "f", "p") == Tokens{"one", "two"});
  CHECK(parse_token_lines("\n\n  one  \r\n\t two\t\r\n\n", "f", "p") == Tokens{"one", "two"});
  CHECK(parse_token_lines("a+b/c==\n", "f", "p") == Tokens{"a+b/c=="});
}

TEST_CASE("a bad line is named by its number, never quoted", "[token_file]") {
  const std::string message = error_of("good\n\nbad token here\n");
  CHECK(message.find("--heartbeat-token-file: line 3 of 'tokens.txt' is not a token") != std::string::npos);
  CHECK(message.find("bad token") == std::string::npos);
  CHECK(error_of("a\"b").find("line 1") != std::string::npos);
  CHECK(error_of(std::string(257, 'x')).find("line 1") != std::string::npos);
  CHECK(error_of("").find("holds no token") != std::string::npos);
  CHECK(error_of(" \n\t\n\r\n").find("holds no token") != std::string::npos);
}

TEST_CASE("reading: the file's tokens, or why it cannot be read", "[token_file]") {
  pulse::test::TempDir dir;
  const auto path = dir.write("tokens", "first\nsecond\n");
  CHECK(read_token_file("--read-token-file", path.string()) == std::vector<std::string>{"first", "second"});
  CHECK_THROWS_WITH(read_token_file("--read-token-file", (dir.path() / "none").string()),
                    Catch::Contains("--read-token-file: cannot read") && Catch::Contains("No such file"));
  CHECK_THROWS_WITH(read_token_file("--read-token-file", dir.path().string()),
                    Catch::Contains("cannot read") && Catch::Contains("directory"));
  const auto huge = dir.write("huge", std::string(pulse::app::kMaxTokenFileBytes + 1, 'a'));
  CHECK_THROWS_WITH(read_token_file("--read-token-file", huge.string()), Catch::Contains("is larger than"));
}
