// The keep-alive decision (RFC 9112 section 9.3) as one pure function, tested as a table.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pulse::http {

struct KeepAliveInput {
  int version_minor = 1;                       // HTTP/1.<minor>
  std::optional<std::string_view> connection;  // the request's Connection header
  std::uint64_t requests_served = 1;           // on this connection, this one included
  std::uint64_t max_requests = 0;              // 0: no limit
  bool shutting_down = false;
  bool must_close = false;  // protocol error, streaming to a 1.0 client, ...
};

struct KeepAliveDecision {
  bool keep_alive;
  // Value for the response's Connection header; empty when none is needed (1.1 staying open).
  std::string_view connection_header;
};

[[nodiscard]] KeepAliveDecision decide_keep_alive(const KeepAliveInput& input) noexcept;

}  // namespace pulse::http
