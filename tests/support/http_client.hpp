// HttpClient: a small blocking HTTP/1.1 client over one persistent connection, with deadlines,
// for the tests: it sends bytes exactly as given (malformed requests, pipelines, split writes),
// which no real client library does. Pulse's own outgoing requests (`beat`, `probe`) go through
// CurlClient (curl_client.hpp); this one lives with the tests, never in the binary.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/base/unique_fd.hpp"
#include "pulse/http/request.hpp"

namespace pulse::test {

struct ClientResponse {
  int status = 0;
  int version_minor = 1;
  std::vector<http::Header> headers;
  std::string body;
  bool keep_alive = true;  // the server will keep the connection open

  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const {
    return http::find_header(headers, name);
  }
};

class HttpClient {
 public:
  // Connects with a deadline; throws std::system_error on failure.
  HttpClient(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

  // Sends bytes exactly as given.
  void send_raw(std::string_view bytes);
  // Reads the next response; `head_request` tells that it has no body. Throws
  // std::runtime_error on timeout, malformed input or a connection closed before the end.
  [[nodiscard]] ClientResponse read_response(bool head_request = false);
  // Sends a request with Host and Content-Length, reads the response.
  [[nodiscard]] ClientResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                                       const std::vector<http::Header>& headers = {});
  // True once the server closed the connection (read returned 0) within `wait`.
  [[nodiscard]] bool wait_for_close(std::chrono::milliseconds wait);
  // Reads whatever arrives within `wait` (for raw-protocol tests).
  [[nodiscard]] std::string read_available(std::chrono::milliseconds wait);

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

 private:
  // Waits until readable; returns bytes read (0 at EOF). Throws on timeout.
  std::size_t fill(std::chrono::steady_clock::time_point deadline);

  base::UniqueFd fd_;
  std::string host_;
  std::chrono::milliseconds timeout_;
  std::string buffer_;  // bytes received and not yet consumed: read-ahead survives between responses
};

}  // namespace pulse::test
