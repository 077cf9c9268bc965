// libFuzzer driver for the real Connection over a socketpair. The input is a client: the bytes
// it sends and where they are cut into writes (the server's loop runs between two writes); then
// it half-closes. What the server writes back must be exactly the answers to the requests a
// RequestParser finds in the whole input, in order, each a well-formed HTTP/1.1 response; never
// more responses than the input can hold requests; nothing after a 400; and the connection
// closes. A violated invariant aborts, so libFuzzer reports and minimises the input.
//
// Input: byte 0 = how many piece lengths follow (bits 0-3) and the per-connection request limit
// (bits 4-6, an index into kRequestLimits); then one byte per piece length (1..256 bytes); the
// rest is sent as the last piece.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fuzz_support.hpp"
#include "pulse/base/parse.hpp"
#include "pulse/http/connection.hpp"
#include "pulse/http/http_date.hpp"
#include "pulse/http/parser.hpp"
#include "pulse/http/response_stream.hpp"
#include "pulse/http/router.hpp"
#include "pulse/net/event_loop.hpp"

using namespace std::chrono_literals;
using pulse::fuzz::require;
using pulse::http::Method;
using pulse::http::Request;
using pulse::http::Response;

namespace {

// Bounds one input's run: far above what any input needs on a socketpair, below libFuzzer's
// -timeout so that a hang is reported as this abort, with a stack.
constexpr auto kMaxRunTime = 5s;
// A request larger than the socket buffer is cut short: the fuzzer explores the protocol, not
// bulk transfer. The server never buffers more unparsed input than this either.
constexpr std::size_t kMaxInputBytes = 64 * 1024;
constexpr std::size_t kMaxCuts = 15;
constexpr std::array<std::uint64_t, 8> kRequestLimits{100, 1, 2, 3, 8, 16, 64, 100};
// Blob responses at most this large, so that 100 of them (past the 1 MiB back-pressure mark)
// stay cheap.
constexpr std::size_t kMaxBlobBytes = 32 * 1024;
// Far more than any input can make the server write (100 blobs); more is a bug.
constexpr std::size_t kMaxOutputBytes = 16 * 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kStreamData = "data: one\n\n";

pulse::http::Limits fuzz_limits(std::uint64_t max_requests) {
  pulse::http::Limits limits;
  limits.max_header_bytes = 4096;
  limits.max_uri_bytes = 1024;
  limits.max_header_count = 32;
  limits.max_body_bytes = 4096;
  limits.max_requests_per_connection = max_requests;
  return limits;  // the timeouts stay at their defaults (seconds): no deadline fires during a run
}

// ---- The handlers: small, pure functions of the request, so the oracle can call them too ----

class FunctionHandler final : public pulse::http::Handler {
 public:
  explicit FunctionHandler(std::function<Response(const Request&)> handle) : handle_(std::move(handle)) {}
  Response handle(const Request& request) override { return handle_(request); }

 private:
  std::function<Response(const Request&)> handle_;
};

// The request as the handler saw it: the echo body, compared with what the oracle parsed.
std::string describe(const Request& request) {
  std::string out = request.method_name + " " + request.target + " HTTP/1." + std::to_string(request.version_minor);
  for (const auto& header : request.headers) out += "\n" + header.name + ": " + header.value;
  out += "\n\n" + request.body;
  return out;
}

Response health(const Request& request) {
  if (request.method != Method::kGet && request.method != Method::kHead) {
    auto response = Response::error(405);
    response.set_header("Allow", "GET, HEAD");
    return response;
  }
  return Response::text(200, "ok\n");
}

// "/status/NNN": any status a handler may return, but 400 (which only a framing error may say
// here, so that "nothing after a 400" can be checked) and 1xx.
Response status(const Request& request) {
  const auto code = pulse::base::parse_decimal<unsigned>(std::string_view(request.path).substr(8));
  if (!code || *code < 200 || *code > 599 || *code == 400) return Response::error(404);
  auto response = Response::text(static_cast<int>(*code), "status\n");
  if (*code == 405) response.set_header("Allow", "GET");
  return response;
}

// "/blob/N": N bytes, to fill the output queue past its high-water mark.
Response blob(const Request& request) {
  const auto size = pulse::base::parse_decimal<std::size_t>(std::string_view(request.path).substr(6));
  if (!size || *size > kMaxBlobBytes) return Response::error(404);
  return Response::text(200, std::string(*size, 'x'), "application/octet-stream");
}

// "/stream": a stream that is already written and closed when the connection gets it.
Response stream(const Request& request) {
  Response response;
  response.status = 200;
  response.set_header("Content-Type", "text/event-stream");
  response.stream = std::make_shared<pulse::http::ResponseStream>();
  response.stream->write(kStreamData);
  response.stream->write(request.target);
  response.stream->close();
  return response;
}

const pulse::http::Router& fuzz_router() {
  static const pulse::http::Router router = [] {
    pulse::http::Router r;
    r.add_exact("/healthz", std::make_shared<FunctionHandler>(health));
    r.add_exact("/stream", std::make_shared<FunctionHandler>(stream));
    r.add_prefix("/status/", std::make_shared<FunctionHandler>(status));
    r.add_prefix("/blob/", std::make_shared<FunctionHandler>(blob));
    r.add_prefix("/", std::make_shared<FunctionHandler>(
                          [](const Request& request) { return Response::text(200, describe(request)); }));
    return r;
  }();
  return router;
}

// ---- The oracle: what the server must answer, from one parse of the whole input ----

bool has_token(std::string_view list, std::string_view token) {
  while (true) {
    const auto comma = list.find(',');
    if (pulse::http::iequals(pulse::http::trim_ows(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

struct Expected {
  enum class Kind { kContinue, kResponse, kError } kind = Kind::kResponse;
  int status = 0;
  std::string error_reason;    // kError
  bool head = false;           // no body, whatever the headers say
  bool stream = false;         // a stream response (not to HEAD): the connection ends after it
  bool stream_shaped = false;  // the handler returned a stream (HEAD too: no Content-Length then)
  int version_minor = 1;
  std::optional<std::string> body;  // what a GET body is (for HEAD: its length is Content-Length)
  std::string_view connection;      // the Connection header: "", "close" or "keep-alive"
  bool ends = false;                // nothing may follow this response
};

// The server's keep-alive rule, written again from RFC 9112 section 9.3 and DESIGN.md.
std::string_view connection_header(const Request& request, bool must_close, std::uint64_t served,
                                   std::uint64_t max_requests) {
  const std::string list = request.header_list("Connection");
  const bool asked_close = !list.empty() && has_token(list, "close");
  const bool asked_keep_alive = !list.empty() && has_token(list, "keep-alive");
  const bool server_closes = must_close || (max_requests != 0 && served >= max_requests);
  if (request.version_minor >= 1) return asked_close || server_closes ? "close" : "";
  return asked_keep_alive && !asked_close && !server_closes ? "keep-alive" : "close";
}

std::vector<Expected> predict(std::string_view input, const pulse::http::Limits& limits) {
  std::vector<Expected> expected;
  pulse::http::RequestParser parser(limits);
  std::uint64_t served = 0;
  while (true) {
    const auto result = parser.feed(input);
    input.remove_prefix(result.consumed);
    using Event = pulse::http::RequestParser::Event;
    if (result.event == Event::kNeedMore) return expected;
    if (result.event == Event::kExpectContinue) {
      expected.push_back({.kind = Expected::Kind::kContinue, .status = 100});
      continue;
    }
    ++served;
    if (result.event == Event::kError) {
      expected.push_back({.kind = Expected::Kind::kError,
                          .status = parser.error_status(),
                          .error_reason = parser.error_reason(),
                          .connection = "close",
                          .ends = true});
      return expected;
    }
    const Request request = parser.take_request();
    Expected e;
    e.head = request.method == Method::kHead;
    e.version_minor = request.version_minor;
    Response response;
    if (request.path == "*") {
      response.status = 204;
    } else {
      response = fuzz_router().dispatch(request);
    }
    e.status = response.status;
    e.stream_shaped = response.stream != nullptr;
    e.stream = e.stream_shaped && !e.head;
    if (response.stream) {
      e.body = kStreamData;
      *e.body += request.target;
    } else if (response.status != 204 && response.status != 304) {
      e.body = response.body;
    }
    // A stream to a 1.0 client is not chunked: its end is the connection's.
    e.connection =
        connection_header(request, e.stream && request.version_minor == 0, served, limits.max_requests_per_connection);
    e.ends = e.connection == "close" || e.stream;
    expected.push_back(std::move(e));
    if (expected.back().ends) return expected;
  }
}

// ---- What the server wrote, read back strictly ----

struct WireResponse {
  int status = 0;
  std::vector<pulse::http::Header> headers;
  std::string body;
  bool chunked = false;
  bool until_eof = false;

  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const {
    return pulse::http::find_header(headers, name);
  }
  [[nodiscard]] std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& h : headers) n += pulse::http::iequals(h.name, name) ? 1 : 0;
    return n;
  }
};

bool is_tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Takes one line ending in CRLF off the front of `out`; the line must hold no bare CR or LF.
std::string_view take_line(std::string_view& out) {
  const auto end = out.find("\r\n");
  require(end != std::string_view::npos, "a response line ends in CRLF");
  const auto line = out.substr(0, end);
  require(line.find_first_of("\r\n") == std::string_view::npos, "no bare CR or LF in a response line");
  out.remove_prefix(end + 2);
  return line;
}

std::string take_chunked_body(std::string_view& out) {
  std::string body;
  while (true) {
    const auto size_line = take_line(out);
    std::size_t size = 0;
    require(!size_line.empty() && size_line.size() <= 8, "a chunk size is 1 to 8 hex digits");
    for (const char c : size_line) {
      const auto digit = std::string_view("0123456789abcdef").find(c);
      require(digit != std::string_view::npos, "a chunk size is lowercase hex, without extensions");
      size = size * 16 + digit;
    }
    if (size == 0) {
      require(out.substr(0, 2) == "\r\n", "the last chunk has no trailers");
      out.remove_prefix(2);
      return body;
    }
    require(out.size() >= size + 2, "chunk data is complete");
    body.append(out.substr(0, size));
    require(out.substr(size, 2) == "\r\n", "chunk data ends in CRLF");
    out.remove_prefix(size + 2);
  }
}

// One response off the front of `out`; `head` says it answers a HEAD request (no body).
WireResponse take_response(std::string_view& out, bool head) {
  WireResponse response;
  const auto status_line = take_line(out);
  require(status_line.size() > 13 && status_line.substr(0, 9) == "HTTP/1.1 " && status_line[12] == ' ',
          "status line is \"HTTP/1.1 NNN reason\"");
  const auto code = pulse::base::parse_decimal<unsigned>(status_line.substr(9, 3));
  require(code && *code >= 100 && *code <= 599, "status is three digits, 100 to 599");
  response.status = static_cast<int>(*code);
  while (true) {
    const auto line = take_line(out);
    if (line.empty()) break;
    const auto colon = line.find(": ");
    require(colon != std::string_view::npos && colon > 0, "a header line is \"name: value\"");
    const auto name = line.substr(0, colon);
    const auto value = line.substr(colon + 2);
    for (const char c : name) require(is_tchar(c), "a header name is a token");
    for (const char c : value) {
      const auto u = static_cast<unsigned char>(c);
      require(u == '\t' || (u >= 0x20 && u != 0x7f), "a header value holds no control characters");
    }
    response.headers.push_back({std::string(name), std::string(value)});
  }
  const bool no_body_status = response.status < 200 || response.status == 204 || response.status == 304;
  require(response.count("Content-Length") <= 1 && response.count("Transfer-Encoding") <= 1 &&
              response.count("Connection") <= 1,
          "framing headers appear at most once");
  const auto length = response.header("Content-Length");
  const auto coding = response.header("Transfer-Encoding");
  require(!(length && coding), "never both Content-Length and Transfer-Encoding");
  require(!coding || *coding == "chunked", "the only transfer coding is chunked");
  if (response.status >= 200) {
    const auto date = response.header("Date");
    require(date && pulse::http::parse_http_date(*date).has_value(), "every response has a valid Date");
    require(response.header("Server").has_value(), "every response has Server");
  }
  if (no_body_status) {
    require(!length && !coding, "1xx, 204 and 304 carry no framing headers");
    return response;
  }
  response.chunked = coding.has_value();
  if (head) return response;
  if (response.chunked) {
    response.body = take_chunked_body(out);
  } else if (length) {
    const auto size = pulse::base::parse_decimal<std::size_t>(*length);
    require(size.has_value(), "Content-Length is digits");
    require(out.size() >= *size, "the body is complete before the connection ends");
    response.body = std::string(out.substr(0, *size));
    out.remove_prefix(*size);
  } else {
    response.until_eof = true;  // a stream to an HTTP/1.0 client
    response.body = std::string(out);
    out = {};
  }
  return response;
}

void check_response(const Expected& expected, const WireResponse& got) {
  if (expected.kind == Expected::Kind::kError) {
    require(got.status >= 400, "a framing error is answered with an error status");
    if (got.status != expected.status && !pulse::fuzz::error_status_may_depend_on_reads()) {
      std::fprintf(stderr, "whole input: %d (%s); the server: %d (%s)\n", expected.status,
                   expected.error_reason.c_str(), got.status, got.body.c_str());
      require(false, "a framing error has the status the parser gives the whole input");
    }
    require(got.header("Connection") == "close", "an error response says Connection: close");
    return;
  }
  require(got.status == expected.status, "the status is what the handler returned");
  const auto connection = got.header("Connection");
  require(connection.value_or("") == expected.connection, "the Connection header follows the keep-alive rule");
  if (!expected.body) return;
  if (expected.head) {
    // HEAD: GET's framing headers, no body.
    if (expected.stream_shaped) return;
    const auto length = got.header("Content-Length");
    require(length == std::to_string(expected.body->size()), "HEAD says GET's Content-Length");
    return;
  }
  require(got.body == *expected.body, "the body is what the handler returned for this very request");
  if (expected.stream) {
    require(got.chunked == (expected.version_minor >= 1), "a stream is chunked for HTTP/1.1 only");
    require(got.until_eof == (expected.version_minor == 0), "a stream to HTTP/1.0 ends with the connection");
  } else {
    require(!got.chunked && !got.until_eof, "an in-memory body has a Content-Length");
  }
}

// How many disjoint "\r\n\r\n" `input` holds: every complete request head ends in one, so at
// most this many requests can be answered (plus one error), whatever the parser thinks.
std::size_t count_disjoint(std::string_view input, std::string_view needle, bool ignore_case) {
  std::size_t count = 0;
  for (std::size_t i = 0; i + needle.size() <= input.size();) {
    const auto window = input.substr(i, needle.size());
    if (ignore_case ? pulse::http::iequals(window, needle) : window == needle) {
      ++count;
      i += needle.size();
    } else {
      ++i;
    }
  }
  return count;
}

void check_output(std::string_view input, std::string_view output, const std::vector<Expected>& expected) {
  const std::size_t max_final = count_disjoint(input, "\r\n\r\n", false) + 1;
  const std::size_t max_continue = count_disjoint(input, "100-continue", true);
  std::size_t finals = 0;
  std::size_t continues = 0;
  bool saw_400 = false;
  for (const auto& e : expected) {
    // Everything the parser found is answered: the client half-closed after its last request,
    // and that must not cost it an answer.
    require(!output.empty(), "every request the parser finds in the input is answered");
    require(!saw_400, "nothing follows a 400");
    if (e.kind == Expected::Kind::kContinue) {
      require(output.substr(0, kContinue.size()) == kContinue, "100 Continue where the parser asked for one");
      output.remove_prefix(kContinue.size());
      require(++continues <= max_continue, "no more 100 Continue than \"100-continue\" in the input");
      continue;
    }
    const auto got = take_response(output, e.head);
    require(got.status >= 200, "a final response where one is due");
    require(++finals <= max_final, "no more responses than request heads in the input");
    check_response(e, got);
    if (got.status == 400) {
      saw_400 = true;
      require(got.header("Connection") == "close", "a 400 says Connection: close");
    }
    if (e.ends) require(output.empty(), "nothing follows a response that ends the connection");
  }
  require(output.empty(), "no more responses than requests");
}

// ---- The client ----

// Writes the pieces from the loop thread, one per loop iteration, so the server reads each one
// on its own; then half-closes.
class ClientWriter {
 public:
  ClientWriter(pulse::net::EventLoop& loop, int fd, std::vector<std::string_view> pieces)
      : loop_(loop), fd_(fd), pieces_(std::move(pieces)) {}

  void step() {
    if (index_ == pieces_.size()) {
      ::shutdown(fd_, SHUT_WR);
      return;
    }
    const auto piece = pieces_[index_].substr(offset_);
    const auto sent = piece.empty() ? 0 : ::send(fd_, piece.data(), piece.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && errno != EAGAIN && errno != EINTR) {
      // The server closed first: only after an error response, which check_output judges.
      ::shutdown(fd_, SHUT_WR);
      return;
    }
    if (sent > 0) offset_ += static_cast<std::size_t>(sent);
    if (offset_ == pieces_[index_].size()) {
      ++index_;
      offset_ = 0;
      blocked_rounds_ = 0;
      loop_.post([this] { step(); });
    } else if (++blocked_rounds_ < 64) {
      loop_.post([this] { step(); });  // the server is back-pressured: try again next round
    } else {
      loop_.timers().schedule(loop_.now() + 1ms, [this] { step(); });
    }
  }

 private:
  pulse::net::EventLoop& loop_;
  int fd_;
  std::vector<std::string_view> pieces_;
  std::size_t index_ = 0;
  std::size_t offset_ = 0;
  int blocked_rounds_ = 0;
};

// Reads everything the server writes, until EOF, on its own thread.
void read_all(int fd, std::string& output, bool& reset) {
  std::array<char, 64 * 1024> buffer{};
  while (true) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    ::poll(&p, 1, 100);
    const auto got = ::read(fd, buffer.data(), buffer.size());
    if (got == 0) return;
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      reset = true;
      return;
    }
    output.append(buffer.data(), static_cast<std::size_t>(got));
    require(output.size() <= kMaxOutputBytes, "the server writes no more than the requests asked for");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t cuts = std::min<std::size_t>(data[0] & 0x0f, size - 1);
  const std::uint64_t max_requests = kRequestLimits[(data[0] >> 4) & 0x07];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1 + cuts,
                               std::min(size - 1 - cuts, kMaxInputBytes));
  std::vector<std::string_view> pieces;
  std::string_view rest = input;
  for (std::size_t i = 0; i < cuts && i < kMaxCuts && !rest.empty(); ++i) {
    const std::size_t length = std::min<std::size_t>(std::size_t{data[1 + i]} + 1, rest.size());
    pieces.push_back(rest.substr(0, length));
    rest.remove_prefix(length);
  }
  if (!rest.empty()) pieces.push_back(rest);

  static pulse::http::ServerStats stats;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  pulse::base::UniqueFd server_end(fds[0]);
  pulse::base::UniqueFd client_end(fds[1]);

  auto loop = std::make_shared<pulse::net::EventLoop>();
  pulse::http::ConnectionContext context;
  context.loop = loop;
  context.router = &fuzz_router();
  context.stats = &stats;
  context.limits = fuzz_limits(max_requests);
  bool closed = false;
  context.on_closed = [&](std::uint64_t) {
    closed = true;
    loop->quit();
  };
  stats.on_connection_opened();
  auto connection = std::make_shared<pulse::http::Connection>(context, std::move(server_end), "127.0.0.1", 1);
  ClientWriter writer(*loop, client_end.get(), std::move(pieces));
  loop->post([&] {
    connection->start();
    loop->timers().schedule(loop->now() + kMaxRunTime, [] {
      require(false, "the connection closes in bounded time");  // a hang is a bug
    });
    writer.step();
  });
  std::string output;
  bool reset = false;
  std::thread reader([&] { read_all(client_end.get(), output, reset); });
  loop->run();
  connection.reset();
  reader.join();

  require(closed, "the connection closed");
  require(!reset, "the server never resets the connection (lingering close)");
  check_output(input, output, predict(input, context.limits));
  return 0;
}
