// The response plan as a table (method x version x Connection x kind of body), and what
// serialisation puts into the queue: head and body, HEAD, file ranges, event-stream framing.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pulse/http/response_plan.hpp"
#include "pulse/http/response_stream.hpp"

using pulse::http::Method;
using pulse::http::OutputQueue;
using pulse::http::plan_response;
using pulse::http::Request;
using pulse::http::Response;

namespace {

enum class Body { kMemory, kFile, kStream, kNoContent };

Response response_with(Body body) {
  Response response = Response::text(200, "hello");
  switch (body) {
    case Body::kMemory: break;
    case Body::kFile:
      response.file = pulse::http::FileBody{std::make_shared<const pulse::base::UniqueFd>(), 0, 10};
      break;
    case Body::kStream: response.stream = std::make_shared<pulse::http::ResponseStream>(); break;
    case Body::kNoContent: response.status = 204; break;
  }
  return response;
}

// Everything queued, as the peer would receive it (file ranges are not read).
std::string drain(OutputQueue& queue) {
  struct Collect final : pulse::http::OutputWriter {
    std::string bytes;
    pulse::net::IoResult writev(std::span<const iovec> buffers, bool) override {
      std::size_t n = 0;
      for (const auto& b : buffers) {
        bytes.append(static_cast<const char*>(b.iov_base), b.iov_len);
        n += b.iov_len;
      }
      return {n, false, false, {}};
    }
    pulse::net::IoResult sendfile(int, std::uint64_t& offset, std::size_t count) override {
      bytes += "<file>";
      offset += count;
      return {count, false, false, {}};
    }
  } writer;
  REQUIRE(queue.write_to(writer).outcome == pulse::http::WriteOutcome::kDrained);
  return writer.bytes;
}

}  // namespace

TEST_CASE("response plan table", "[response_plan]") {
  struct Row {
    Method method;
    int minor;
    std::optional<std::string_view> connection;
    Body body;
    bool stream, chunked, chunked_header, file_body, memory_body, keep_alive;
    std::string_view connection_header;
  };
  const Row rows[] = {
      // method, 1.x, Connection, body -> stream, chunked, chunked header, file, memory, keep-alive, header
      {Method::kGet, 1, std::nullopt, Body::kMemory, false, false, false, false, true, true, ""},
      {Method::kGet, 1, "close", Body::kMemory, false, false, false, false, true, false, "close"},
      {Method::kGet, 0, std::nullopt, Body::kMemory, false, false, false, false, true, false, "close"},
      {Method::kGet, 0, "keep-alive", Body::kMemory, false, false, false, false, true, true, "keep-alive"},
      {Method::kGet, 1, std::nullopt, Body::kFile, false, false, false, true, false, true, ""},
      {Method::kHead, 1, std::nullopt, Body::kFile, false, false, false, false, false, true, ""},
      {Method::kGet, 1, std::nullopt, Body::kNoContent, false, false, false, false, false, true, ""},
      // A stream is chunked for 1.1 and may stay open; a 1.0 client's ends with the connection.
      {Method::kGet, 1, std::nullopt, Body::kStream, true, true, true, false, false, true, ""},
      {Method::kGet, 0, "keep-alive", Body::kStream, true, false, false, false, false, false, "close"},
      // HEAD of a stream: no stream, but the head GET would have had.
      {Method::kHead, 1, std::nullopt, Body::kStream, false, false, true, false, false, true, ""},
      {Method::kHead, 0, std::nullopt, Body::kStream, false, false, false, false, false, false, "close"},
  };
  for (const auto& row : rows) {
    INFO(to_string(row.method) << " HTTP/1." << row.minor << " Connection=" << row.connection.value_or("(none)")
                               << " body=" << static_cast<int>(row.body));
    Request request = Request::make(row.method, "/x");
    request.version_minor = row.minor;
    if (row.connection) request.headers.push_back({"Connection", std::string(*row.connection)});
    const auto plan = plan_response(request, response_with(row.body), {});
    CHECK(plan.head == (row.method == Method::kHead));
    CHECK(plan.stream == row.stream);
    CHECK(plan.chunked == row.chunked);
    CHECK(plan.chunked_header == row.chunked_header);
    CHECK(plan.file_body == row.file_body);
    CHECK(plan.memory_body == row.memory_body);
    CHECK(plan.keep_alive.keep_alive == row.keep_alive);
    CHECK(plan.keep_alive.connection_header == row.connection_header);
  }
}

TEST_CASE("the plan closes on a forced close, the request limit, shutdown, or Connection on any line",
          "[response_plan]") {
  const Request request = Request::make(Method::kGet, "/x");
  Response forced = response_with(Body::kMemory);
  forced.close_connection = true;
  CHECK_FALSE(plan_response(request, forced, {}).keep_alive.keep_alive);
  CHECK_FALSE(plan_response(request, response_with(Body::kMemory), {.requests_served = 5, .max_requests = 5})
                  .keep_alive.keep_alive);
  CHECK_FALSE(plan_response(request, response_with(Body::kMemory), {.shutting_down = true}).keep_alive.keep_alive);
  Request two_lines = request;
  two_lines.headers.push_back({"Connection", "keep-alive"});
  two_lines.headers.push_back({"Connection", "close"});
  CHECK_FALSE(plan_response(two_lines, response_with(Body::kMemory), {}).keep_alive.keep_alive);
}

TEST_CASE("serialisation: head and body in one run, a file range after it", "[response_plan]") {
  OutputQueue queue;
  Response memory = response_with(Body::kMemory);
  const Request get = Request::make(Method::kGet, "/x");
  CHECK(serialize_response(plan_response(get, memory, {}), memory, queue) == 5);
  Response file = response_with(Body::kFile);
  CHECK(serialize_response(plan_response(get, file, {}), file, queue) == 10);
  CHECK(queue.entries() == 2);  // both heads and the memory body coalesced, then the file
  const std::string out = drain(queue);
  CHECK(out.find("Content-Length: 5\r\n") != std::string::npos);
  CHECK(out.find("\r\n\r\nhelloHTTP/1.1 200 OK\r\n") != std::string::npos);
  CHECK(out.ends_with("Content-Length: 10\r\n\r\n<file>"));
}

TEST_CASE("serialisation of HEAD: GET's Content-Length, no body", "[response_plan]") {
  OutputQueue queue;
  Response response = response_with(Body::kMemory);
  const Request head = Request::make(Method::kHead, "/x");
  CHECK(serialize_response(plan_response(head, response, {}), response, queue) == 0);
  const std::string out = drain(queue);
  CHECK(out.find("Content-Length: 5\r\n") != std::string::npos);
  CHECK(out.ends_with("\r\n\r\n"));
}

TEST_CASE("event-stream framing: one chunk per write when chunked, raw otherwise", "[response_plan]") {
  OutputQueue chunked;
  pulse::http::append_stream_data("hello", true, chunked);
  pulse::http::append_stream_data("", true, chunked);  // an empty chunk would end the body
  pulse::http::append_stream_data(std::string(26, 'x'), true, chunked);
  pulse::http::append_stream_end(true, chunked);
  CHECK(drain(chunked) == "5\r\nhello\r\n1a\r\n" + std::string(26, 'x') + "\r\n0\r\n\r\n");

  OutputQueue raw;
  pulse::http::append_stream_data("data: 1\n\n", false, raw);
  pulse::http::append_stream_end(false, raw);
  CHECK(drain(raw) == "data: 1\n\n");
}
