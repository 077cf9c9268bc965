// Client id and message validation: what is accepted, and that every refusal says why.
#include "pulse/presence/validation.hpp"

#include <catch2/catch.hpp>
#include <string>

using pulse::presence::client_id_error;
using pulse::presence::is_valid_utf8;
using pulse::presence::message_error;

TEST_CASE("valid client ids are accepted", "[presence][validation]") {
  for (const char* id : {"a", "Z", "7", "web-01", "db_primary.eu-west-1", "0.0", "a-", "x_"}) {
    INFO(id);
    CHECK_FALSE(client_id_error(id));
  }
  CHECK_FALSE(client_id_error(std::string(64, 'a')));
}

TEST_CASE("invalid client ids are refused with a reason", "[presence][validation]") {
  struct Case {
    std::string id;
    std::string reason_part;
  };
  const Case cases[] = {
      {"", "empty"},
      {std::string(65, 'a'), "65 characters"},
      {"-web", "start with a letter or a digit, not '-'"},
      {".hidden", "not '.'"},
      {"_x", "not '_'"},
      {"web 1", "a space at position 4"},
      {"web/1", "'/' at position 4"},
      {"caf\xC3\xA9", "byte 0xC3 at position 4"},
      {std::string("a\0b", 3), "byte 0x00 at position 2"},
      {"a:b", "':'"},
  };
  for (const Case& c : cases) {
    INFO(c.id);
    const auto error = client_id_error(c.id);
    REQUIRE(error);
    CHECK_THAT(*error, Catch::Contains(c.reason_part));
  }
}

TEST_CASE("messages: up to 256 bytes of UTF-8 without control characters", "[presence][validation]") {
  CHECK_FALSE(message_error(""));
  CHECK_FALSE(message_error("backup done in 42 s"));
  CHECK_FALSE(message_error("tab\tis fine"));
  CHECK_FALSE(message_error("d\xC3\xA9j\xC3\xA0 vu \xE2\x9C\x93 \xF0\x9F\x92\x93"));  // déjà vu ✓ 💓
  CHECK_FALSE(message_error(std::string(256, 'm')));

  const auto too_long = message_error(std::string(257, 'm'));
  REQUIRE(too_long);
  CHECK_THAT(*too_long, Catch::Contains("257 bytes"));

  const auto bad_utf8 = message_error("\xC3(");
  REQUIRE(bad_utf8);
  CHECK_THAT(*bad_utf8, Catch::Contains("UTF-8"));

  const auto newline = message_error("line\nforged log line");
  REQUIRE(newline);
  CHECK_THAT(*newline, Catch::Contains("0x0A at byte 5"));
  CHECK(message_error("del\x7f"));
}

TEST_CASE("UTF-8 validation is strict", "[presence][validation]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xC2\x80"));          // U+0080, smallest 2-byte
  CHECK(is_valid_utf8("\xE0\xA0\x80"));      // U+0800, smallest 3-byte
  CHECK(is_valid_utf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point

  CHECK_FALSE(is_valid_utf8("\x80"));              // lone continuation byte
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong 3-byte
  CHECK_FALSE(is_valid_utf8("\xF0\x80\x80\xAF"));  // overlong 4-byte
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // U+D800, a surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
  CHECK_FALSE(is_valid_utf8("\xE2\x9C"));          // truncated
  CHECK_FALSE(is_valid_utf8("\xC3\x28"));          // bad continuation
  CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("remote addresses: printable, short, or refused with a reason", "[presence][validation]") {
  using pulse::presence::remote_addr_error;
  for (const char* addr : {"", "127.0.0.1", "::1", "2001:db8::8a2e:370:7334", "fe80::1%eth0"}) {
    INFO(addr);
    CHECK_FALSE(remote_addr_error(addr));
  }
  CHECK_FALSE(remote_addr_error(std::string(64, 'f')));
  struct Case {
    std::string addr;
    std::string reason_part;
  };
  const Case cases[] = {
      {std::string(65, 'f'), "65 bytes long"},
      {"1.2.3.4\n", "byte 0x0A at position 8"},
      {"a b", "a space at position 2"},
      {"\x1b[31m", "byte 0x1B at position 1"},
      {"caf\xC3\xA9", "byte 0xC3"},
  };
  for (const Case& c : cases) {
    INFO(c.addr);
    const auto error = remote_addr_error(c.addr);
    REQUIRE(error);
    CHECK_THAT(*error, Catch::Contains(c.reason_part));
  }
}
