// Request parsing for the heartbeat API: which path names what, exit statuses, run ids, and
// the body cut into a log and a message on UTF-8 boundaries.
#include "pulse/handlers/heartbeat/request_parsing.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "pulse/presence/limits.hpp"
#include "pulse/presence/validation.hpp"

using pulse::handlers::heartbeat::parse_exit_status;
using pulse::handlers::heartbeat::parse_target;
using pulse::handlers::heartbeat::Target;
using pulse::handlers::heartbeat::utf8_prefix;

TEST_CASE("paths under /heartbeat name the list, the stream, a client or one of its signals",
          "[handlers][heartbeat][parsing]") {
  struct Case {
    const char* path;
    Target target;
    const char* id;
  };
  const Case cases[] = {
      {"/heartbeat", Target::kList, ""},
      {"/heartbeat/events", Target::kEvents, ""},
      {"/heartbeat/%65vents", Target::kEvents, ""},
      {"/heartbeat/badge.svg", Target::kAllBadge, ""},
      {"/heartbeat/web-1", Target::kClient, "web-1"},
      {"/heartbeat/", Target::kClient, ""},  // refused later, as an empty id
      {"/heartbeat/job/start", Target::kStart, "job"},
      {"/heartbeat/job/fail", Target::kFail, "job"},
      {"/heartbeat/job/ok", Target::kOk, "job"},
      {"/heartbeat/job/pause", Target::kPause, "job"},
      {"/heartbeat/job/history", Target::kHistory, "job"},
      {"/heartbeat/job/log", Target::kLog, "job"},
      {"/heartbeat/job/hold", Target::kHold, "job"},
      {"/heartbeat/job/badge.svg", Target::kBadge, "job"},
      {"/heartbeat/job/0", Target::kExit, "job"},
      // Reserved words only in the first segment: an id may still end in one.
      {"/heartbeat/events.db/start", Target::kStart, "events.db"},
      {"/heartbeat/%6Aob/ok", Target::kOk, "job"},
      // An encoded slash stays in the id, where validation refuses it.
      {"/heartbeat/a%2Fb", Target::kClient, "a/b"},
  };
  for (const auto& c : cases) {
    INFO(c.path);
    const auto parsed = parse_target(c.path);
    CHECK(parsed.error_status == 0);
    CHECK(parsed.target == c.target);
    CHECK(parsed.id == c.id);
  }
}

TEST_CASE("exit statuses are 0 to 255 in at most 3 digits", "[handlers][heartbeat][parsing]") {
  CHECK(parse_exit_status("0") == 0);
  CHECK(parse_exit_status("3") == 3);
  CHECK(parse_exit_status("255") == 255);
  CHECK(parse_exit_status("007") == 7);
  for (const char* bad : {"", "256", "999", "0255", "-1", "+1", "1.0", "1e2", " 1", "0x1", "１"}) {
    INFO(bad);
    CHECK_FALSE(parse_exit_status(bad));
  }
  const auto three = parse_target("/heartbeat/job/3");
  CHECK(three.target == Target::kExit);
  CHECK(three.exit_code == 3);
  CHECK(parse_target("/heartbeat/job/255").exit_code == 255);
  for (const char* bad :
       {"/heartbeat/job/256", "/heartbeat/job/-1", "/heartbeat/job/+0", "/heartbeat/job/1000", "/heartbeat/job/12a"}) {
    INFO(bad);
    const auto parsed = parse_target(bad);
    CHECK(parsed.error_status == 400);
    CHECK(parsed.error == "invalid_exit_status");
  }
}

TEST_CASE("unknown words, deeper paths and words under reserved names are 404s", "[handlers][heartbeat][parsing]") {
  for (const char* path : {"/heartbeat/job/stop", "/heartbeat/job/", "/heartbeat/job/start/now", "/heartbeat/job/OK",
                           "/heartbeat/events/start", "/heartbeat/badge.svg/x", "/heartbeatx", "/heartbeats/a"}) {
    INFO(path);
    const auto parsed = parse_target(path);
    CHECK(parsed.error_status == 404);
    CHECK(parsed.error == "not_found");
  }
  const auto bad_escape = parse_target("/heartbeat/%zz/start");
  CHECK(bad_escape.error_status == 400);
  CHECK(bad_escape.error == "invalid_id");
}

TEST_CASE("run ids follow the id rules and say rid", "[handlers][heartbeat][parsing]") {
  using pulse::handlers::heartbeat::run_id_error;
  CHECK_FALSE(run_id_error("2026-01-01.nightly_1"));
  CHECK_FALSE(run_id_error(std::string(pulse::presence::kMaxRunIdBytes, 'r')));
  const auto too_long = run_id_error(std::string(pulse::presence::kMaxRunIdBytes + 1, 'r'));
  REQUIRE(too_long);
  CHECK_THAT(*too_long, Catch::StartsWith("rid is 65 characters long"));
  const auto space = run_id_error("run 1");
  REQUIRE(space);
  CHECK_THAT(*space, Catch::StartsWith("rid contains"));
  CHECK(run_id_error("-leading"));
  CHECK(run_id_error("a/b"));
}

TEST_CASE("utf8_prefix never splits a character", "[handlers][heartbeat][parsing]") {
  CHECK(utf8_prefix("hello", 10) == "hello");
  CHECK(utf8_prefix("hello", 3) == "hel");
  CHECK(utf8_prefix("", 0).empty());
  const std::string euro = "ab\xE2\x82\xAC";  // "ab€": € is 3 bytes
  CHECK(utf8_prefix(euro, 5) == euro);
  CHECK(utf8_prefix(euro, 4) == "ab");
  CHECK(utf8_prefix(euro, 3) == "ab");
  CHECK(utf8_prefix(euro, 2) == "ab");
  const std::string emoji = "\xF0\x9F\x98\x80z";  // 4 bytes, then z
  CHECK(utf8_prefix(emoji, 4) == "\xF0\x9F\x98\x80");
  CHECK(utf8_prefix(emoji, 3).empty());
  // Not UTF-8 (continuation bytes only): cut at the limit rather than lose everything.
  CHECK(utf8_prefix(std::string(8, '\x80'), 5).size() == 5);
}

TEST_CASE("a body becomes a log of at most 10 KiB, cut on a UTF-8 boundary", "[handlers][heartbeat][parsing]") {
  using pulse::handlers::heartbeat::log_from_body;
  constexpr auto kMax = pulse::presence::kMaxLogBytes;
  CHECK(log_from_body("backup done\nall good\n") == "backup done\nall good\n");
  CHECK(log_from_body(std::string(kMax + 100, 'x')) == std::string(kMax, 'x'));
  // A 3-byte character straddling the limit (its first byte is the last one allowed) goes whole.
  const std::string straddling = std::string(kMax - 1, 'a') + "\xE2\x82\xAC" + "tail";
  const auto cut = log_from_body(straddling);
  CHECK(cut == std::string(kMax - 1, 'a'));
  CHECK(pulse::presence::is_valid_utf8(cut));
  // Ending exactly at the limit, it stays.
  const std::string fitting = std::string(kMax - 3, 'a') + "\xE2\x82\xAC" + "tail";
  CHECK(log_from_body(fitting) == std::string(kMax - 3, 'a') + "\xE2\x82\xAC");
  // Bytes that are not UTF-8 become U+FFFD: the log is always text.
  CHECK(log_from_body("caf\xE9 ok") == "caf\xEF\xBF\xBD ok");
  CHECK(log_from_body("\xC3\x28") == "\xEF\xBF\xBD(");
  const auto binary = log_from_body(std::string(kMax + 10, '\xFF'));
  CHECK(binary.size() <= kMax);
  CHECK(pulse::presence::is_valid_utf8(binary));
}

TEST_CASE("a body's first line is its message, cut and validated", "[handlers][heartbeat][parsing]") {
  using pulse::handlers::heartbeat::message_from_body;
  constexpr auto kMax = pulse::presence::kMaxMessageBytes;
  CHECK(message_from_body("backup done in 42 s\n") == "backup done in 42 s");
  CHECK(message_from_body("first line\r\nsecond line\n") == "first line");
  CHECK(message_from_body("no newline") == "no newline");
  CHECK(message_from_body("\nsecond").empty());
  CHECK(message_from_body(std::string(kMax + 50, 'm') + "\nmore") == std::string(kMax, 'm'));
  const std::string straddling = std::string(kMax - 2, 'm') + "\xE2\x82\xAC";
  CHECK(message_from_body(straddling) == std::string(kMax - 2, 'm'));
  // A first line that is no message (a control character, not UTF-8) leaves the message empty.
  CHECK(message_from_body("\x1B[31mred\n").empty());
  CHECK(message_from_body("caf\xE9\n").empty());
  CHECK(message_from_body("tab\tis fine") == "tab\tis fine");
}
