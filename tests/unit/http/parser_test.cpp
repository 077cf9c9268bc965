// RequestParser: every split of the input gives the same requests; pipelines come out in order;
// every error class maps to its status.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pulse/http/parser.hpp"

using pulse::http::Limits;
using pulse::http::Method;
using pulse::http::Request;
using pulse::http::RequestParser;
using Event = RequestParser::Event;

namespace {

struct Outcome {
  std::vector<Request> requests;
  int error_status = 0;
  int continues = 0;
};

// Feeds `input` in pieces cut at `cuts` (sorted offsets), the way reads would deliver it, and
// keeps unconsumed bytes for the next feed as a connection does.
Outcome parse_in_pieces(const std::string& input, const std::vector<std::size_t>& cuts, const Limits& limits = {}) {
  RequestParser parser(limits);
  Outcome outcome;
  std::string buffer;
  std::size_t from = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (const std::size_t to : ends) {
    buffer.append(input, from, to - from);
    from = to;
    for (;;) {
      const auto result = parser.feed(buffer);
      buffer.erase(0, result.consumed);
      if (result.event == Event::kRequest) {
        outcome.requests.push_back(parser.take_request());
      } else if (result.event == Event::kExpectContinue) {
        ++outcome.continues;
      } else if (result.event == Event::kError) {
        outcome.error_status = parser.error_status();
        return outcome;
      } else {
        break;
      }
    }
  }
  return outcome;
}

Outcome parse(const std::string& input, const Limits& limits = {}) {
  return parse_in_pieces(input, {}, limits);
}

int error_of(const std::string& input, const Limits& limits = {}) {
  return parse(input, limits).error_status;
}

}  // namespace

TEST_CASE("a request split at every byte position parses the same", "[parser]") {
  const std::string input =
      "POST /upload/a%20b?x=1&y=2 HTTP/1.1\r\n"
      "Host: example.test\r\n"
      "Content-Type: text/plain\r\n"
      "Content-Length: 11\r\n"
      "X-Folded: one, two\r\n"
      "\r\n"
      "hello world";
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    INFO("cut at " << cut);
    const auto outcome = parse_in_pieces(input, {cut});
    REQUIRE(outcome.error_status == 0);
    REQUIRE(outcome.requests.size() == 1);
    const auto& r = outcome.requests[0];
    CHECK(r.method == Method::kPost);
    CHECK(r.target == "/upload/a%20b?x=1&y=2");
    CHECK(r.path == "/upload/a%20b");
    CHECK(r.query == "x=1&y=2");
    CHECK(r.version_minor == 1);
    CHECK(r.header("host") == "example.test");
    CHECK(r.header("X-FOLDED") == "one, two");
    CHECK(r.body == "hello world");
  }
}

TEST_CASE("a chunked request delivered one byte at a time parses", "[parser]") {
  const std::string input =
      "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  const auto outcome = parse_in_pieces(input, every_byte);
  REQUIRE(outcome.requests.size() == 1);
  CHECK(outcome.requests[0].body == "hello world");
}

TEST_CASE("pipelined requests come out one at a time, in order", "[parser]") {
  std::string input;
  for (int i = 0; i < 50; ++i) {
    input += "GET /item/" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    if (i % 7 == 0) input += "POST /post/" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  }
  for (const std::size_t cut : {std::size_t{0}, std::size_t{17}, input.size() / 2}) {
    const auto outcome = parse_in_pieces(input, {cut});
    REQUIRE(outcome.error_status == 0);
    REQUIRE(outcome.requests.size() == 58);
    std::size_t k = 0;
    for (int i = 0; i < 50; ++i) {
      CHECK(outcome.requests[k++].path == "/item/" + std::to_string(i));
      if (i % 7 == 0) {
        CHECK(outcome.requests[k].path == "/post/" + std::to_string(i));
        CHECK(outcome.requests[k++].body == "abc");
      }
    }
  }
}

TEST_CASE("HTTP/1.0 needs no Host, HTTP/1.1 does", "[parser]") {
  const auto ok = parse("GET / HTTP/1.0\r\n\r\n");
  REQUIRE(ok.requests.size() == 1);
  CHECK(ok.requests[0].version_minor == 0);
  CHECK(error_of("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
}

TEST_CASE("request smuggling shapes are rejected with 400", "[parser]") {
  CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd") == 400);
  CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc") == 400);
  // A coding we cannot decode is not implemented (RFC 9112 section 6.1); the connection closes.
  CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n") == 501);
  CHECK(error_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n") == 400);
  CHECK(error_of("GET / HTTP/1.1\nHost: h\n\n") == 400);
  CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n") == 400);
}

TEST_CASE("unknown versions are 505, unknown methods 501, garbage 400", "[parser]") {
  CHECK(error_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == 505);
  CHECK(error_of("GET / HTTP/1.2\r\nHost: h\r\n\r\n") == 505);
  CHECK(error_of("GET / HTTP/3.0\r\n\r\n") == 505);
  CHECK(error_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 505);
  CHECK(error_of("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n") == 501);
  CHECK(error_of("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test\r\n\r\n") == 501);
  CHECK(error_of("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") == 400);
}

TEST_CASE("limits give 414, 431 and 413", "[parser]") {
  Limits limits;
  limits.max_uri_bytes = 64;
  limits.max_header_bytes = 512;
  limits.max_header_count = 5;
  limits.max_body_bytes = 10;
  CHECK(error_of("GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", limits) == 414);
  CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(600, 'b') + "\r\n\r\n", limits) == 431);
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 6; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(error_of(many + "\r\n", limits) == 431);
  CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits) == 413);
  CHECK(
      error_of(
          "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
          limits) == 413);
  // Exactly at the limits is fine.
  const auto ok =
      parse("POST /" + std::string(63, 'a') + " HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits);
  CHECK(ok.error_status == 0);
  CHECK(ok.requests.size() == 1);
}

TEST_CASE("Expect: 100-continue pauses after the headers", "[parser]") {
  const auto outcome = parse("POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody");
  CHECK(outcome.continues == 1);
  REQUIRE(outcome.requests.size() == 1);
  CHECK(outcome.requests[0].body == "body");
  // Over the body limit: the final status, not 100.
  Limits small;
  small.max_body_bytes = 2;
  CHECK(error_of("POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", small) == 413);
  CHECK(error_of("POST /x HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 4\r\n\r\n") == 417);
  // HTTP/1.0 does not know 100 Continue.
  const auto old = parse("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody");
  CHECK(old.continues == 0);
  CHECK(old.requests.size() == 1);
}

TEST_CASE("in_message tracks the span of one request", "[parser]") {
  RequestParser parser(Limits{});
  CHECK_FALSE(parser.in_message());
  auto result = parser.feed("GET / HT");
  CHECK(result.event == Event::kNeedMore);
  CHECK(parser.in_message());
  CHECK_FALSE(parser.headers_complete());
  result = parser.feed("TP/1.1\r\nHost: h\r\n\r\n");
  CHECK(result.event == Event::kRequest);
  CHECK_FALSE(parser.in_message());
}

TEST_CASE("absolute-form targets become origin-form, Host follows the authority", "[parser]") {
  const auto outcome = parse("GET http://example.test:8080/a/b?q=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  REQUIRE(outcome.requests.size() == 1);
  const auto& r = outcome.requests[0];
  CHECK(r.target == "/a/b?q=1");
  CHECK(r.path == "/a/b");
  CHECK(r.query == "q=1");
  CHECK(r.header("Host") == "example.test:8080");
  const auto bare = parse("GET http://example.test HTTP/1.1\r\nHost: example.test\r\n\r\n");
  REQUIRE(bare.requests.size() == 1);
  CHECK(bare.requests[0].path == "/");
}

TEST_CASE("asterisk-form only with OPTIONS, other targets must start with '/'", "[parser]") {
  const auto options = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(options.requests.size() == 1);
  CHECK(options.requests[0].path == "*");
  CHECK(error_of("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
}

namespace {

// The error status for `input` cut at every byte position, and the same for all of them.
int error_at_every_split(const std::string& input, const Limits& limits = {}) {
  const int whole = error_of(input, limits);
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    INFO("cut at " << cut);
    REQUIRE(parse_in_pieces(input, {cut}, limits).error_status == whole);
  }
  return whole;
}

}  // namespace

TEST_CASE("a chunked message must end in CRLF, wherever the reads split it", "[parser][framing]") {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(error_at_every_split(head + "3\r\nabc\r\n0\r\n\n") == 400);
  CHECK(error_at_every_split(head + "3\r\nabc\n0\r\n\r\n") == 400);
  CHECK(error_at_every_split(head + "3\r\nabc\r\n0\r\nX-T: 1\r\n\n") == 400);
  const std::string good = head + "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n";
  for (std::size_t cut = 0; cut <= good.size(); ++cut) {
    INFO("cut at " << cut);
    const auto outcome = parse_in_pieces(good + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n", {cut});
    REQUIRE(outcome.error_status == 0);
    REQUIRE(outcome.requests.size() == 2);
    CHECK(outcome.requests[0].body == "abc");
    CHECK(outcome.requests[1].path == "/next");
  }
}

TEST_CASE("every line of the head ends in CRLF, not a bare LF", "[parser][framing]") {
  CHECK(error_at_every_split("GET / HTTP/1.1\nHost: h\r\n\r\n") == 400);
  CHECK(error_at_every_split("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n") == 400);
  CHECK(error_at_every_split("GET / HTTP/1.1\r\nHost: h\r\n\n") == 400);
  CHECK(error_at_every_split("GET / HTTP/1.0\n\r\n") == 400);
  // A body may hold any bytes, bare LFs included.
  const auto outcome = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\na\n\nb");
  REQUIRE(outcome.requests.size() == 1);
  CHECK(outcome.requests[0].body == "a\n\nb");
}

TEST_CASE("obsolete line folding is rejected, not unfolded", "[parser][framing]") {
  CHECK(error_at_every_split("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n") == 400);
  CHECK(error_at_every_split("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n") == 400);
  // A value split across reads is one value, not a fold.
  for (std::size_t cut = 0; cut < 40; ++cut) {
    const auto outcome = parse_in_pieces("GET / HTTP/1.1\r\nHost: h\r\nX-Long: abcdefghij\r\n\r\n", {cut});
    REQUIRE(outcome.requests.size() == 1);
    CHECK(outcome.requests[0].header("X-Long") == "abcdefghij");
  }
}

TEST_CASE("the request line takes single spaces and a well-formed version", "[parser][framing]") {
  CHECK(error_at_every_split("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
  CHECK(error_at_every_split("GET /  HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
  CHECK(error_at_every_split("GET / HTTP/1.x\r\nHost: h\r\n\r\n") == 400);
  CHECK(error_at_every_split("GET / HTTP/1.10\r\nHost: h\r\n\r\n") == 400);
  CHECK(error_at_every_split("GET /\r\n\r\n") == 400);
  CHECK(error_at_every_split("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == 505);
  CHECK(error_at_every_split("GET / HTTP/0.9\r\nHost: h\r\n\r\n") == 505);
}

TEST_CASE("Transfer-Encoding: only a final chunked, once, in HTTP/1.1", "[parser][framing]") {
  const auto with = [](std::string_view te) {
    return "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + std::string(te) + "\r\n\r\n0\r\n\r\n";
  };
  CHECK(error_of(with("")) == 400);
  CHECK(error_of(with(" , ")) == 400);
  CHECK(error_of(with("chunked, chunked")) == 400);
  CHECK(error_of(with("chunked, gzip")) == 400);  // RFC 9112 section 6.3: length unknowable
  CHECK(error_of(with("gzip, chunked")) == 501);
  CHECK(error_of(with("identity")) == 501);
  CHECK(error_of(with("chunked;q=1")) == 501);
  CHECK(error_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
  CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        400);
  const auto ok = parse(with("Chunked") + "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK(ok.error_status == 0);
  CHECK(ok.requests.size() == 2);
  const auto listed = parse(with(", chunked"));  // empty list elements are allowed
  CHECK(listed.error_status == 0);
}

TEST_CASE("trailers are counted against the limits and never merged into the headers", "[parser][framing]") {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  const auto outcome = parse(head + "3\r\nabc\r\n0\r\nHost: evil\r\nConnection: close\r\nRange: bytes=0-0\r\n\r\n");
  REQUIRE(outcome.error_status == 0);
  REQUIRE(outcome.requests.size() == 1);
  const auto& r = outcome.requests[0];
  CHECK(r.header("Host") == "h");
  CHECK_FALSE(r.has_header("Connection"));
  CHECK_FALSE(r.has_header("Range"));
  CHECK(r.body == "abc");

  Limits limits;
  limits.max_header_bytes = 256;
  limits.max_header_count = 4;
  CHECK(error_at_every_split(head + "0\r\nX-T: " + std::string(300, 't') + "\r\n\r\n", limits) == 431);
  std::string many;
  for (int i = 0; i < 4; ++i) many += "T-" + std::to_string(i) + ": v\r\n";
  CHECK(error_of(head + "0\r\n" + many + "\r\n", limits) == 431);  // 2 headers + 4 trailers > 4
}

TEST_CASE("chunk extensions count against the header limit", "[parser][framing]") {
  Limits limits;
  limits.max_header_bytes = 256;
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(error_at_every_split(head + "1;e=" + std::string(300, 'x') + "\r\na\r\n0\r\n\r\n", limits) == 431);
  std::string small_chunks;
  for (int i = 0; i < 40; ++i) small_chunks += "1;ext=abc\r\na\r\n";
  CHECK(error_of(head + small_chunks + "0\r\n\r\n", limits) == 431);  // they add up per message
  const auto fine = parse(head + "1;a=b\r\nx\r\n0\r\n\r\n", limits);
  CHECK(fine.error_status == 0);
  CHECK(fine.requests.size() == 1);
}

TEST_CASE("an error earlier in the head wins over a later bare LF, however the reads fall", "[parser][framing]") {
  CHECK(error_at_every_split("GET / HTTP/3.0\r\nHost: a\n\n") == 505);
  CHECK(error_at_every_split("GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", [] {
          Limits limits;
          limits.max_uri_bytes = 64;
          return limits;
        }()) == 414);
  CHECK(error_at_every_split("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n") == 400);
}

TEST_CASE("an unknown method is judged on its whole token, however the reads fall", "[parser][framing]") {
  CHECK(error_at_every_split("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n") == 501);
  CHECK(error_at_every_split("\r\nFROBNICATE /x HTTP/1.1\r\nHost: a\r\n\r\n") == 501);
  CHECK(error_at_every_split("BR@W /pot HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(error_at_every_split("BREW\t/pot HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(error_at_every_split(std::string(40, 'Z') + " / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  // After a good request on the same connection, the next one's method is judged afresh.
  const auto outcome = parse("GET /a HTTP/1.1\r\nHost: a\r\n\r\nBREW /pot HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(outcome.requests.size() == 1);
  CHECK(outcome.error_status == 501);
}
