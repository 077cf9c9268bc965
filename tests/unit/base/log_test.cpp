// Logger: the line's shape, the context it carries, and the rate limit that bounds a flood.
#include "pulse/base/log.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using pulse::base::LogContext;
using pulse::base::Logger;
using pulse::base::LogLevel;

namespace {

struct Capture {
  std::vector<std::string> lines;
  pulse::base::MonotonicClock::time_point now{};
  Logger make(pulse::base::LogRateLimit limit) {
    return Logger(
        limit, [this](std::string_view line) { lines.emplace_back(line); }, [this] { return now; });
  }
};

}  // namespace

TEST_CASE("a log line names the level, the connection, the peer and the action", "[base][log]") {
  Capture capture;
  auto logger = capture.make({});
  logger.write(LogLevel::kWarning, {.connection_id = 7, .peer = "10.0.0.1", .action = "sending a file"},
               "file truncated");
  logger.write(LogLevel::kError, {}, "accept4: too many open files");
  logger.write(LogLevel::kInfo, {.action = "loading the state file"}, "restored 3 clients");
  REQUIRE(capture.lines.size() == 3);
  CHECK(capture.lines[0] ==
        "pulsehttpd: warning: file truncated (connection 7, peer 10.0.0.1, while sending a file)\n");
  CHECK(capture.lines[1] == "pulsehttpd: error: accept4: too many open files\n");
  CHECK(capture.lines[2] == "pulsehttpd: info: restored 3 clients (while loading the state file)\n");
}

TEST_CASE("a flood is cut to the burst, then to the rate, and what was cut is counted", "[base][log]") {
  Capture capture;
  auto logger = capture.make({.burst = 5, .per_second = 2});
  for (int i = 0; i < 1000; ++i) logger.write(LogLevel::kWarning, {}, "bad request");
  CHECK(capture.lines.size() == 5);
  CHECK(logger.suppressed() == 995);

  capture.now += 1s;  // tokens again: the count of what was cut goes out before the message
  logger.write(LogLevel::kWarning, {}, "bad request");
  REQUIRE(capture.lines.size() == 7);
  CHECK(capture.lines[5] == "pulsehttpd: warning: 995 log lines suppressed by the rate limit\n");
  CHECK(capture.lines[6] == "pulsehttpd: warning: bad request\n");
  CHECK(logger.suppressed() == 0);

  capture.now += 1h;  // refilled to the burst, never above it
  for (int i = 0; i < 100; ++i) logger.write(LogLevel::kWarning, {}, "again");
  CHECK(capture.lines.size() == 7 + 5);
}

TEST_CASE("the last line before an abort is never held back", "[base][log]") {
  Capture capture;
  auto logger = capture.make({.burst = 1, .per_second = 1});
  logger.write(LogLevel::kError, {}, "first");
  logger.write(LogLevel::kError, {}, "held back");
  logger.write(LogLevel::kFatal, {}, "aborting");
  REQUIRE(capture.lines.size() == 3);
  CHECK(capture.lines[1] == "pulsehttpd: warning: 1 log lines suppressed by the rate limit\n");
  CHECK(capture.lines[2] == "pulsehttpd: fatal: aborting\n");
}
