// Access log: Common Log Format lines, escaped, written by the writer thread in order.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "pulse/app/access_log.hpp"
#include "support/temp_dir.hpp"

using pulse::app::AccessLog;
using pulse::app::append_clf_line;
using pulse::http::AccessRecord;

TEST_CASE("a CLF line has host, time, request line, status and size", "[access_log]") {
  std::string out;
  append_clf_line({"127.0.0.1", "GET", "/index.html?x=1", 1, 200, 1234, 784111777}, out);
  CHECK(out == "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET /index.html?x=1 HTTP/1.1\" 200 1234\n");
}

TEST_CASE("quotes and control bytes in the target cannot break the line", "[access_log]") {
  std::string out;
  append_clf_line({"::1", "GET", "/a\"b\nc\x01", 0, 404, 0, 0}, out);
  CHECK(out.find('\n') == out.size() - 1);
  CHECK(out.find("/a\\x22b\\x0ac\\x01") != std::string::npos);
  CHECK(out.find("HTTP/1.0\" 404 0") != std::string::npos);
}

TEST_CASE("batches reach the file in order and completely", "[access_log]") {
  pulse::test::TempDir dir;
  const auto path = (dir.path() / "access.log").string();
  {
    auto log = AccessLog::open(path);
    REQUIRE(log != nullptr);
    for (int i = 0; i < 1000; ++i) log->submit("line " + std::to_string(i) + "\n");
  }  // the destructor drains the queue
  std::ifstream in(path);
  std::string line;
  int expected = 0;
  while (std::getline(in, line)) {
    REQUIRE(line == "line " + std::to_string(expected));
    ++expected;
  }
  CHECK(expected == 1000);
}

TEST_CASE("off means no log, an unwritable path is an error", "[access_log]") {
  CHECK(AccessLog::open("off") == nullptr);
  CHECK_THROWS(AccessLog::open("/nonexistent-dir/pulse/access.log"));
}

TEST_CASE("a ?token= never reaches the access log", "[access_log]") {
  std::string out;
  append_clf_line({"127.0.0.1", "GET", "/heartbeat/events?token=s3cret-token", 1, 200, 0, 0}, out);
  append_clf_line({"127.0.0.1", "POST", "/heartbeat/web-1?interval=30&to%6Ben=s3cret-token", 1, 201, 0, 0}, out);
  CHECK(out.find("s3cret") == std::string::npos);
  CHECK(out.find("\"GET /heartbeat/events?token=REDACTED HTTP/1.1\"") != std::string::npos);
  CHECK(out.find("\"POST /heartbeat/web-1?interval=30&to%6Ben=REDACTED HTTP/1.1\"") != std::string::npos);
}
