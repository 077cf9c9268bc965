// The keep-alive decision table: version x Connection header x limit x shutdown.
#include <catch2/catch.hpp>

#include <optional>
#include <string_view>

#include "pulse/http/keep_alive.hpp"

using pulse::http::decide_keep_alive;
using pulse::http::KeepAliveInput;

namespace {

struct Row {
  int minor;
  std::optional<std::string_view> connection;
  bool limit_reached;
  bool shutting_down;
  bool keep;
  std::string_view header;
};

}  // namespace

TEST_CASE("keep-alive decision table", "[keep_alive]") {
  const Row rows[] = {
      // HTTP/1.1: persistent unless told otherwise; the header appears only when closing.
      {1, std::nullopt, false, false, true, ""},
      {1, "keep-alive", false, false, true, ""},
      {1, "close", false, false, false, "close"},
      {1, "Keep-Alive, Close", false, false, false, "close"},
      {1, std::nullopt, true, false, false, "close"},
      {1, std::nullopt, false, true, false, "close"},
      {1, "keep-alive", true, false, false, "close"},
      // HTTP/1.0: closes unless asked, and then must confirm with "keep-alive".
      {0, std::nullopt, false, false, false, "close"},
      {0, "keep-alive", false, false, true, "keep-alive"},
      {0, "Keep-Alive", false, false, true, "keep-alive"},
      {0, "close", false, false, false, "close"},
      {0, "keep-alive", true, false, false, "close"},
      {0, "keep-alive", false, true, false, "close"},
  };
  for (const auto& row : rows) {
    INFO("HTTP/1." << row.minor << " Connection=" << (row.connection ? *row.connection : "(none)")
                   << " limit=" << row.limit_reached << " shutdown=" << row.shutting_down);
    KeepAliveInput input;
    input.version_minor = row.minor;
    input.connection = row.connection;
    input.max_requests = 10;
    input.requests_served = row.limit_reached ? 10 : 3;
    input.shutting_down = row.shutting_down;
    const auto decision = decide_keep_alive(input);
    CHECK(decision.keep_alive == row.keep);
    CHECK(decision.connection_header == row.header);
  }
}

TEST_CASE("max_requests of 0 means no limit, must_close always closes", "[keep_alive]") {
  KeepAliveInput input;
  input.max_requests = 0;
  input.requests_served = 1'000'000;
  CHECK(decide_keep_alive(input).keep_alive);
  input.must_close = true;
  CHECK_FALSE(decide_keep_alive(input).keep_alive);
}
