// libFuzzer driver for RequestParser: any bytes, split anywhere, never crash, never consume more
// than given, every request that comes out is well formed, and (differential) the same bytes
// cut three ways (whole, where the fuzzer says, one byte at a time) give the same events.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "pulse/http/parser.hpp"

namespace {

using pulse::http::RequestParser;
using Event = RequestParser::Event;
using pulse::fuzz::require;

// The first byte's low bits say how many of the following bytes are piece lengths.
constexpr std::size_t kMaxCuts = 15;
// Byte-at-a-time feeding is quadratic in the worst case: only for inputs up to this size.
constexpr std::size_t kMaxBytewiseInput = 2048;

pulse::http::Limits fuzz_limits() {
  pulse::http::Limits limits;
  limits.max_header_bytes = 2048;
  limits.max_uri_bytes = 512;
  limits.max_header_count = 16;
  limits.max_body_bytes = 1024;
  return limits;
}

// One event as text, with everything a handler could see: two chunkings agree when the texts do.
// Where a request or a 100-continue fires is part of it (in stream offsets); an error's position
// is not, only its status.
std::string describe_request(const pulse::http::Request& request, std::uint64_t offset) {
  std::string out = "request@" + std::to_string(offset) + " " + request.method_name + " " + request.target + " [" +
                    request.path + "][" + request.query + "] HTTP/" + std::to_string(request.version_major) + "." +
                    std::to_string(request.version_minor);
  for (const auto& header : request.headers) out += "\n  " + header.name + ": " + header.value;
  out += "\n  body(" + std::to_string(request.body.size()) + ")=" + request.body;
  return out;
}

void check_request(const pulse::http::Request& request, const pulse::http::Limits& limits) {
  require(request.path == "*" || (!request.path.empty() && request.path.front() == '/'), "target form");
  require(request.body.size() <= limits.max_body_bytes, "body within its limit");
  require(request.version_major == 1, "HTTP/1.x only");
  require(request.version_minor == 0 || request.version_minor == 1, "HTTP/1.0 or 1.1 only");
  // An absolute-form target adds the Host it names (replacing any sent): one over the limit.
  require(request.headers.size() <= limits.max_header_count + 1, "header count within its limit");
  require(request.target.size() <= limits.max_uri_bytes, "target within its limit");
  require(request.method != pulse::http::Method::kConnect, "CONNECT is refused");
  std::size_t hosts = 0;
  for (const auto& header : request.headers) {
    require(!header.name.empty(), "header name not empty");
    require(header.name.find_first_of(" \t\r\n:") == std::string::npos, "header name is a token");
    require(header.value.find_first_of("\r\n") == std::string::npos, "no CR or LF in a header value");
    if (pulse::http::iequals(header.name, "Host")) ++hosts;
  }
  require(hosts <= 1, "at most one Host");
  require(request.version_minor == 0 || hosts == 1, "HTTP/1.1 has a Host");
}

// What one run saw: every event but kNeedMore, as text, and the error that ended it, if any.
struct Trace {
  std::vector<std::string> events;
  int error_status = 0;
  std::string error_reason;
};

// Feeds `pieces` one after another, as reads would deliver them, and records every event.
Trace run(const std::vector<std::string_view>& pieces) {
  const auto limits = fuzz_limits();
  RequestParser parser(limits);
  Trace trace;
  auto& events = trace.events;
  std::string buffer;
  std::uint64_t offset = 0;  // stream bytes consumed so far
  for (const auto piece : pieces) {
    buffer.append(piece);
    // Every round but the last consumes bytes: at most one round per byte, plus the last.
    const std::size_t max_rounds = buffer.size() + 1;
    for (std::size_t round = 0;; ++round) {
      require(round <= max_rounds, "the parser makes progress");
      const auto result = parser.feed(buffer);
      require(result.consumed <= buffer.size(), "consumed at most what was given");
      buffer.erase(0, result.consumed);
      offset += result.consumed;
      if (result.event == Event::kNeedMore) {
        require(buffer.empty(), "kNeedMore consumes every byte");
        break;
      }
      if (result.event == Event::kError) {
        const int status = parser.error_status();
        require(status >= 400 && status < 600, "error status is 4xx or 5xx");
        require(!parser.error_reason().empty(), "an error says why");
        const auto again = parser.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        require(again.event == Event::kError && again.consumed == 0, "an error is final");
        trace.error_status = status;
        trace.error_reason = parser.error_reason();
        return trace;
      }
      require(result.consumed > 0, "an event consumes bytes");
      if (result.event == Event::kExpectContinue) {
        require(parser.headers_complete(), "100-continue comes after the headers");
        events.push_back("continue@" + std::to_string(offset));
      } else {
        const auto request = parser.take_request();
        check_request(request, limits);
        events.push_back(describe_request(request, offset));
      }
    }
  }
  return trace;
}

void print(const Trace& trace) {
  for (const auto& event : trace.events) std::fprintf(stderr, "%s\n", event.c_str());
  if (trace.error_status != 0) std::fprintf(stderr, "error %d (%s)\n", trace.error_status, trace.error_reason.c_str());
}

void require_same(const Trace& whole, const Trace& other, const char* how) {
  bool same = whole.events == other.events && (whole.error_status == 0) == (other.error_status == 0);
  if (same && whole.error_status != other.error_status) same = pulse::fuzz::error_status_may_depend_on_reads();
  if (same) return;
  std::fprintf(stderr, "parser_fuzz: the input fed whole and %s gives different events\n--- whole:\n", how);
  print(whole);
  std::fprintf(stderr, "--- %s:\n", how);
  print(other);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // Byte 0: how many piece lengths follow (low four bits); each is 1..256 bytes, the rest of the
  // input is the last piece.
  const std::size_t cuts = std::min<std::size_t>(data[0] & 0x0f, size - 1);
  const std::string_view input(reinterpret_cast<const char*>(data) + 1 + cuts, size - 1 - cuts);
  std::vector<std::string_view> pieces;
  std::string_view rest = input;
  for (std::size_t i = 0; i < cuts && i < kMaxCuts; ++i) {
    const std::size_t length = std::min<std::size_t>(std::size_t{data[1 + i]} + 1, rest.size());
    pieces.push_back(rest.substr(0, length));
    rest.remove_prefix(length);
  }
  pieces.push_back(rest);

  const auto whole = run({input});
  require_same(whole, run(pieces), "cut where the fuzzer chose");
  if (input.size() <= kMaxBytewiseInput) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
    require_same(whole, run(bytes), "fed one byte at a time");
  }
  return 0;
}
