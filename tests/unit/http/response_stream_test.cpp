// ResponseStream's producer hook: on_detached runs once, when the connection lets go or when a
// stream that was never sent is destroyed, and at once when it is set too late.
#include <catch2/catch.hpp>

#include <memory>

#include "pulse/http/response_stream.hpp"

using pulse::http::ResponseStream;

TEST_CASE("on_detached runs once, at detach", "[response_stream]") {
  int runs = 0;
  auto stream = std::make_shared<ResponseStream>();
  stream->on_detached([&runs] { ++runs; });
  CHECK(stream->write("x"));
  CHECK(runs == 0);
  stream->close();  // the producer's close: the connection has not let go yet
  CHECK(runs == 0);
  stream->detach();
  CHECK(runs == 1);
  stream->detach();
  stream.reset();
  CHECK(runs == 1);
}

TEST_CASE("on_detached set after the detach runs at once", "[response_stream]") {
  int runs = 0;
  ResponseStream stream;
  stream.detach();
  stream.on_detached([&runs] { ++runs; });
  CHECK(runs == 1);
  CHECK_FALSE(stream.write("x"));
}

TEST_CASE("a stream destroyed without being sent runs its hook", "[response_stream]") {
  int runs = 0;
  {
    ResponseStream stream;
    stream.on_detached([&runs] { ++runs; });
  }
  CHECK(runs == 1);
}
