// Request framing over a raw socket (RFC 9112): malformed and ambiguous messages, in the categories
// published request-smuggling research uses. Each case must get exactly one response with the
// expected status, then the connection closes, and nothing else ever arrives: a second response
// would mean part of the message was taken as another request.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "support/test_server.hpp"

using namespace std::chrono_literals;
using pulse::test::TestServer;

namespace {

struct FramingCase {
  std::string_view category;
  std::string_view name;
  std::string bytes;
  int status;
};

// A request that would be answered 200 if it were ever parsed on its own: its response in the
// output is the proof of a smuggled request.
const std::string kHidden = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n";

std::string post(std::string_view headers, std::string_view body) {
  return "POST /healthz HTTP/1.1\r\nHost: t\r\n" + std::string(headers) + "\r\n" + std::string(body);
}

std::string chunked(std::string_view body) {
  return post("Transfer-Encoding: chunked\r\n", body);
}

std::string get_with(std::string_view header_lines) {
  return "GET /healthz HTTP/1.1\r\nHost: t\r\n" + std::string(header_lines) + "\r\n";
}

std::vector<FramingCase> framing_cases() {
  using namespace std::string_literals;
  std::vector<FramingCase> cases = {
      // Chunk sizes and chunk data.
      {"chunk-size", "not hex", chunked("zz\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-size", "0x prefix", chunked("0x3\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-size", "negative", chunked("-3\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-size", "leading space", chunked(" 3\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-size", "empty", chunked("\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-size", "overflows 64 bits", chunked("1ffffffffffffffff\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-size", "bare LF after size", chunked("3\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-size", "bare CR after size", chunked("3\rabc\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-data", "ends in bare LF", chunked("3\r\nabc\n30\r\n" + kHidden + "\r\n0\r\n\r\n"), 400},
      {"chunk-data", "ends in bare CR", chunked("3\r\nabc\r0\r\n\r\n" + kHidden), 400},
      {"chunk-data", "longer than its size", chunked("3\r\nabcdef\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-data", "two bytes skipped", chunked("3\r\nabcXX0\r\n\r\n" + kHidden), 400},
      {"chunk-ext", "control byte", chunked("3;\x01\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"chunk-ext", "bare LF inside", chunked("3;a\nb\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"last-chunk", "bare LF ends the trailers", chunked("3\r\nabc\r\n0\r\n\n" + kHidden), 400},

      // Whitespace around field names and colons.
      {"whitespace", "space before colon", get_with("Host2 : x\r\n"), 400},
      {"whitespace", "tab before colon", get_with("X-A\t: x\r\n"), 400},
      {"whitespace", "Content-Length with space before colon", post("Content-Length : 3\r\n", "abc" + kHidden), 400},
      {"whitespace", "Transfer-Encoding with space before colon",
       post("Transfer-Encoding : chunked\r\n", "3\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"whitespace", "space before the first field name", "GET /healthz HTTP/1.1\r\n Host: t\r\n\r\n" + kHidden, 400},
      {"whitespace", "name only", get_with("X-A\r\n"), 400},

      // Bare CR and bare LF.
      {"line ends", "bare CR in the request line", "GET /healthz HTTP/1.1\rHost: t\r\n\r\n" + kHidden, 400},
      {"line ends", "bare CR in a field value", get_with("X-A: a\rb\r\n") + kHidden, 400},
      {"line ends", "bare CR ends a field line", get_with("X-A: a\r") + kHidden, 400},
      {"line ends", "bare LF ends the request line", "GET /healthz HTTP/1.1\nHost: t\r\n\r\n" + kHidden, 400},
      {"line ends", "bare LF ends a field line", get_with("X-A: a\nX-B: b\r\n") + kHidden, 400},
      {"line ends", "bare LF ends the header section", "GET /healthz HTTP/1.1\r\nHost: t\r\n\n" + kHidden, 400},
      {"line ends", "bare LF in a field value ends nothing", get_with("X-A: a\nContent-Length: 3\r\n") + kHidden, 400},

      // Content-Length and Transfer-Encoding: variants and duplicates.
      {"framing", "Content-Length and Transfer-Encoding",
       post("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + kHidden), 400},
      {"framing", "Transfer-Encoding then Content-Length",
       post("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", "0\r\n\r\n" + kHidden), 400},
      {"framing", "two different Content-Lengths", post("Content-Length: 3\r\nContent-Length: 4\r\n", "abcd" + kHidden),
       400},
      {"framing", "two equal Content-Lengths", post("Content-Length: 3\r\nContent-Length: 3\r\n", "abc" + kHidden),
       400},
      {"framing", "Content-Length list", post("Content-Length: 3, 3\r\n", "abc" + kHidden), 400},
      {"framing", "negative Content-Length", post("Content-Length: -3\r\n", "abc" + kHidden), 400},
      {"framing", "signed Content-Length", post("Content-Length: +3\r\n", "abc" + kHidden), 400},
      {"framing", "hex Content-Length", post("Content-Length: 0x3\r\n", "abc" + kHidden), 400},
      {"framing", "Content-Length with inner space", post("Content-Length: 1 2\r\n", "abc" + kHidden), 400},
      {"framing", "empty Content-Length", post("Content-Length:\r\n", "abc" + kHidden), 400},
      {"framing", "Content-Length overflows", post("Content-Length: 99999999999999999999999\r\n", "abc" + kHidden),
       400},
      {"framing", "Content-Length over the body limit", post("Content-Length: 2000000\r\n", "abc"), 413},
      {"framing", "empty Transfer-Encoding", post("Transfer-Encoding:\r\n", "3\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"framing", "identity", post("Transfer-Encoding: identity\r\n", "3\r\nabc\r\n0\r\n\r\n" + kHidden), 501},
      {"framing", "chunked not last", post("Transfer-Encoding: chunked, gzip\r\n", "3\r\nabc\r\n0\r\n\r\n" + kHidden),
       400},  // RFC 9112 section 6.3: the length cannot be determined
      {"framing", "gzip then chunked", post("Transfer-Encoding: gzip, chunked\r\n", "3\r\nabc\r\n0\r\n\r\n" + kHidden),
       501},
      {"framing", "chunked twice", post("Transfer-Encoding: chunked, chunked\r\n", "3\r\nabc\r\n0\r\n\r\n" + kHidden),
       400},
      {"framing", "chunked on two lines",
       post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"framing", "unknown coding", post("Transfer-Encoding: xchunked\r\n", "3\r\nabc\r\n0\r\n\r\n" + kHidden), 501},
      {"framing", "vertical tab before chunked",
       post("Transfer-Encoding:\x0b"
            "chunked\r\n",
            "3\r\nabc\r\n0\r\n\r\n" + kHidden),
       400},
      {"framing", "HTTP/1.0 with Transfer-Encoding",
       "POST /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + kHidden, 400},

      // Obsolete line folding (RFC 9112 section 5.2: a server rejects it with 400 or unfolds it).
      {"obs-fold", "folded value", get_with("X-A: a\r\n b\r\n") + kHidden, 400},
      {"obs-fold", "folded Content-Length", post("Content-Length: 0\r\n 3\r\n", "abc" + kHidden), 400},
      {"obs-fold", "folded Transfer-Encoding",
       post("Transfer-Encoding: gzip\r\n chunked\r\n", "3\r\nabc\r\n0\r\n\r\n" + kHidden), 400},
      {"obs-fold", "tab-folded value", get_with("X-A: a\r\n\tb\r\n") + kHidden, 400},

      // Bytes a field name may not hold (RFC 9110 section 5.1: a token).
      {"field name", "space inside", get_with("X A: a\r\n"), 400},
      {"field name", "at sign", get_with("X@A: a\r\n"), 400},
      {"field name", "empty", get_with(": a\r\n"), 400},
      {"field name", "DEL",
       get_with("X\x7f"
                "A: a\r\n"),
       400},
      {"field name", "non-ASCII", get_with("X\xc3\xa9: a\r\n"), 400},
      {"field name", "quote", get_with("X\"A: a\r\n"), 400},
      {"field name", "slash", get_with("X/A: a\r\n"), 400},

      // Versions: malformed is 400; well-formed but not 1.x is 505.
      {"version", "HTTP/1.x", "GET /healthz HTTP/1.x\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"version", "lower case", "GET /healthz http/1.1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"version", "two minor digits", "GET /healthz HTTP/1.10\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"version", "no minor", "GET /healthz HTTP/1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"version", "space after", "GET /healthz HTTP/1.1 \r\nHost: t\r\n\r\n" + kHidden, 400},
      {"version", "missing (HTTP/0.9 form)", "GET /healthz\r\n\r\n" + kHidden, 400},
      {"version", "HTTP/2.0", "GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n" + kHidden, 505},
      {"version", "HTTP/0.9", "GET /healthz HTTP/0.9\r\nHost: t\r\n\r\n" + kHidden, 505},
      {"version", "HTTP/3.0", "GET /healthz HTTP/3.0\r\nHost: t\r\n\r\n" + kHidden, 505},

      // Request-line forms.
      {"request line", "two spaces", "GET  /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"request line", "tab separator", "GET\t/healthz HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"request line", "leading space", " GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"request line", "space in target", "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"request line", "target without slash", "GET healthz HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"request line", "absolute form without authority", "GET http:///x HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"request line", "asterisk with GET", "GET * HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"request line", "method not a token", "G@T /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 400},
      {"request line", "unknown method", "FROB /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 501},
      {"request line", "CONNECT", "CONNECT t:443 HTTP/1.1\r\nHost: t\r\n\r\n" + kHidden, 501},
      {"request line", "no Host in 1.1", "GET /healthz HTTP/1.1\r\n\r\n" + kHidden, 400},
      {"request line", "two Hosts", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + kHidden, 400},

      // NUL anywhere.
      {"NUL", "in the method", "GE\0T /healthz HTTP/1.1\r\nHost: t\r\n\r\n"s + kHidden, 400},
      {"NUL", "in the target", "GET /health\0z HTTP/1.1\r\nHost: t\r\n\r\n"s + kHidden, 400},
      {"NUL", "in a field name", get_with("X\0A: a\r\n"s) + kHidden, 400},
      {"NUL", "in a field value", get_with("X-A: a\0b\r\n"s) + kHidden, 400},
      {"NUL", "in a chunk size", chunked("3\0\r\nabc\r\n0\r\n\r\n"s + kHidden), 400},

      // Overlong lines and too many fields.
      {"overlong", "request-target", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
      {"overlong", "one field line", get_with("X-A: " + std::string(17000, 'a') + "\r\n"), 431},
      {"overlong", "too many fields",
       [] {
         std::string lines;
         for (int i = 0; i < 101; ++i) lines += "X-" + std::to_string(i) + ": a\r\n";
         return get_with(lines);
       }(),
       431},
      {"overlong", "chunk extension", chunked("3;" + std::string(17000, 'e') + "\r\nabc\r\n0\r\n\r\n"), 431},
      {"overlong", "trailer section", chunked("0\r\nX-T: " + std::string(17000, 't') + "\r\n\r\n"), 431},
  };
  return cases;
}

}  // namespace

TEST_CASE("malformed and ambiguous framing: one response, the expected status, then close", "[integration][framing]") {
  TestServer server;
  const auto cases = framing_cases();
  REQUIRE(cases.size() >= 60);
  for (const auto& c : cases) {
    INFO(c.category << ": " << c.name);
    auto client = server.connect(3s);
    client.send_raw(c.bytes);
    const auto response = client.read_response();
    CHECK(response.status == c.status);
    CHECK(response.header("Connection") == "close");
    // Whatever follows must be nothing at all: the server closes after this response.
    const std::string rest = client.read_available(2s);
    CHECK(rest.empty());
    CHECK(client.wait_for_close(100ms));
  }
}
