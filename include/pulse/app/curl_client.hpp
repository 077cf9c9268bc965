// CurlClient: Pulse's outgoing HTTP and HTTPS requests (`pulsehttpd beat`, `probe`), over libcurl.
// libcurl brings what a hand-written client would have to grow: TLS with certificate checks,
// proxies from the environment (http_proxy, https_proxy, no_proxy, as curl reads them, except
// that loopback addresses always go direct), timeouts and a connection cache. One CurlClient
// keeps its connections between requests, so a beat loop reuses one connection. Thread: one at
// a time (a client per thread; libcurl's global init is done once, whichever thread is first).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/http/request.hpp"

namespace pulse::app {

struct CurlOptions {
  // A whole request: connect, TLS, send, response. For a stream: its connect and TLS only.
  std::chrono::milliseconds timeout{5000};
  // A PEM file of certificates to trust instead of the system's (/etc/ssl/certs); empty: the
  // system's. Certificates and host names are always verified.
  std::string ca_file;
};

struct CurlResponse {
  int status = 0;
  std::vector<http::Header> headers;  // of the final response (not of a 100 Continue)
  std::string body;

  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const {
    return http::find_header(headers, name);
  }
};

// No response: refused, unreachable, timed out, TLS refused, malformed. what() is curl's reason.
class CurlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How a stream ended.
enum class StreamEnd {
  kClosed,     // the connection ended: closed by the server, reset, or never opened (see error)
  kIdle,       // no bytes for the idle timeout: taken for dead and closed by us
  kCancelled,  // the cancel descriptor became readable
};

struct StreamResult {
  StreamEnd end = StreamEnd::kClosed;
  int status = 0;     // 0: no response head arrived
  std::string error;  // curl's reason when the transfer failed; empty for a clean end
  std::string body;   // the start of the body when the status is not 2xx (for the message)
};

class CurlClient {
 public:
  explicit CurlClient(CurlOptions options = {});
  ~CurlClient();
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  // One request and its whole response. `url` is absolute (http:// or https://). A body is sent
  // with Content-Length (a POST with none sends Content-Length: 0 and no Content-Type). Throws
  // CurlError when no response arrives within the timeout; any status is a response.
  [[nodiscard]] CurlResponse request(std::string_view method, const std::string& url, std::string_view body = {},
                                     const std::vector<http::Header>& headers = {});

  // GETs `url` and hands every chunk of a 2xx body to `on_data` as it arrives, until the server
  // ends it, nothing arrives for `idle_timeout`, or `cancel_fd` (when >= 0) becomes readable.
  // A non-2xx response is read whole and returned (status, start of body). Never throws for
  // network trouble: the result says how it ended.
  [[nodiscard]] StreamResult stream(const std::string& url, const std::vector<http::Header>& headers,
                                    std::chrono::milliseconds idle_timeout, int cancel_fd,
                                    const std::function<void(std::string_view)>& on_data);

  // Connections opened so far (a reused one is not counted again), the one of a transfer in
  // progress included (so that on_data can name it).
  [[nodiscard]] std::uint64_t connections() const noexcept;

 private:
  struct Handles;
  std::unique_ptr<Handles> handles_;
  CurlOptions options_;
  std::uint64_t connections_ = 0;  // by the transfers that have ended
  bool in_transfer_ = false;
};

// `base` (an http:// or https:// URL) with `path_suffix` appended to its path (after any
// trailing '/' is dropped) and `query` (already escaped, without '?') appended to its query.
// nullopt when `base` is not an absolute http or https URL with a host.
[[nodiscard]] std::optional<std::string> http_url(std::string_view base, std::string_view path_suffix = {},
                                                  std::string_view query = {});

}  // namespace pulse::app
