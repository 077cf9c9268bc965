// Response: what a handler returns. The serializer adds Date, Server, Content-Length and Connection.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/base/unique_fd.hpp"
#include "pulse/http/request.hpp"

namespace pulse::http {

class DeferredResponse;
class ResponseStream;

// A byte range of an open file, sent with sendfile(). The fd is shared so that a cache may
// hand the same open file to several responses.
struct FileBody {
  std::shared_ptr<const base::UniqueFd> fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// A range of an immutable buffer shared with a cache (a small static file): the connection copies
// it straight into its output, so a cache hit costs one copy, not two.
struct SharedBody {
  std::shared_ptr<const std::string> data;
  std::size_t offset = 0;
  std::size_t length = 0;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // Content-Type, ETag, ...; never Date/Server/Content-Length/Connection
  // More header lines, already in wire form ("Name: value\r\n" each), sent after `headers`:
  // lines made once and shared rather than built for every response (a cached file's
  // validators, its type's lines). Same rule as `headers`: never the serializer's own fields.
  // A pointer may own nothing (lines in storage that lives as long as the process) and then
  // costs no reference count. header() reads these too; set_header() does not: a field that
  // is here must not also be set there.
  std::array<std::shared_ptr<const std::string>, 2> header_lines;
  std::string body;             // in-memory body (ignored when `file` is set)
  std::optional<FileBody> file;
  std::optional<SharedBody> shared_body;  // takes the place of `body` when set
  // A streaming response (server-sent events): sent with chunked encoding; the handler keeps
  // the other end and writes to it from any thread. The connection serves nothing after it.
  std::shared_ptr<ResponseStream> stream;
  // The answer comes later (deferred_response.hpp): when set, every other field is ignored. The
  // handler hands the other end to a producer, which completes it from any thread with the real
  // response (any of the kinds above, an event stream included). The connection parses nothing
  // more until then, so pipelined responses stay in order.
  std::shared_ptr<DeferredResponse> deferred;
  // Force "Connection: close" after this response (e.g. after a protocol error).
  bool close_connection = false;
  // Turn TCP keepalive on for this connection's socket (net::TcpKeepAlive, kHeldKeepAlive in
  // limits.hpp): a stream that must learn at once that its client vanished (a held heartbeat
  // connection) cannot wait for a write to time out.
  bool tcp_keepalive = false;
  // For HEAD: the Content-Length a GET would have had. Set by handlers that answer HEAD
  // without reading the body; otherwise the size of `body`/`file` is used.
  std::optional<std::uint64_t> head_content_length;

  Response& set_header(std::string name, std::string value);
  // The first value of header `name`, from `headers` or `header_lines`.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  [[nodiscard]] std::uint64_t content_length() const noexcept;
  // The in-memory body: `body`, or the range of `shared_body`.
  [[nodiscard]] std::string_view body_view() const noexcept;

  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // A small HTML error page for `status` ("404 Not Found"), with an optional detail line.
  static Response error(int status, std::string_view detail = {});
};

// Escapes the five characters that matter in HTML text and attribute values.
[[nodiscard]] std::string escape_html(std::string_view text);

}  // namespace pulse::http
