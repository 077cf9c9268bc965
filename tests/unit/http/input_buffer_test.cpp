// InputBuffer: read-ahead survives consumption, the buffer compacts instead of growing with a
// keep-alive connection's life, and an idle connection gives a large buffer back.
#include "pulse/http/input_buffer.hpp"

#include <catch2/catch.hpp>

#include <string>

using pulse::http::InputBuffer;

TEST_CASE("bytes read ahead stay unparsed until consumed", "[input_buffer]") {
  InputBuffer in;
  CHECK(in.empty());
  const std::string two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  in.append(two.data(), two.size());
  in.consume(19);
  CHECK(in.unparsed() == "GET /b HTTP/1.1\r\n\r\n");
  in.append("X", 1);  // compacts the consumed part away first
  CHECK(in.unparsed() == "GET /b HTTP/1.1\r\n\r\nX");
  CHECK(in.size() == 20);
}

TEST_CASE("a long keep-alive connection does not grow its buffer", "[input_buffer]") {
  InputBuffer in;
  const std::string request(100, 'r');
  std::size_t largest = 0;
  for (int i = 0; i < 10'000; ++i) {
    in.append(request.data(), request.size());
    in.consume(request.size());  // parsed, but the buffer is not shrunk: the next append compacts
    largest = std::max(largest, in.capacity());
  }
  CHECK(largest < 4 * request.size());  // without compaction it would reach a megabyte
}

TEST_CASE("an idle connection gives its input buffer back, large or small", "[input_buffer]") {
  InputBuffer in;
  const std::string big(64 * 1024, 'b');
  in.append(big.data(), big.size());
  in.release_if_consumed();  // not consumed yet: nothing may be dropped
  CHECK(in.size() == big.size());
  CHECK(in.capacity() >= big.size());
  in.consume(big.size() - 1);
  in.release_if_consumed();  // one byte still unparsed
  CHECK(in.unparsed() == "b");
  in.consume(1);
  in.release_if_consumed();
  CHECK(in.empty());
  CHECK(in.capacity() <= std::string().capacity());  // nothing beyond the string's own bytes

  const std::string small(100, 's');
  in.append(small.data(), small.size());
  in.consume(small.size());
  in.release_if_consumed();
  CHECK(in.capacity() <= std::string().capacity());
  in.append("x", 1);
  CHECK(in.unparsed() == "x");
}
