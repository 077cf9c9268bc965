// ResponseSerializer: writes the status line and header block of a Response.
#pragma once

#include <string>
#include <string_view>

#include "pulse/http/response.hpp"

namespace pulse::http {

struct SerializeOptions {
  bool head_request = false;           // HEAD: headers of GET, no body
  bool chunked = false;                // streaming body in chunked encoding (1.1 clients)
  std::string_view connection_header;  // "", "close" or "keep-alive"
};

// True when the status never carries a body (1xx, 204, 304; RFC 9110 section 6.4.1).
[[nodiscard]] bool status_has_no_body(int status) noexcept;

// Appends the status line and headers (ending with the blank line) to `out`, adding Date,
// Server, Content-Length (or Transfer-Encoding: chunked) and Connection.
void serialize_head(const Response& response, const SerializeOptions& options, std::string& out);

// The Server header value: "pulsehttpd/<version>".
[[nodiscard]] std::string_view server_token() noexcept;

}  // namespace pulse::http
