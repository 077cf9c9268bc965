// Keep-alive: HTTP/1.1 persists unless told to close; HTTP/1.0 closes unless asked to persist.
#include "pulse/http/keep_alive.hpp"

#include "pulse/http/request.hpp"

namespace pulse::http {

KeepAliveDecision decide_keep_alive(const KeepAliveInput& input) noexcept {
  const bool asked_close = input.connection && header_has_token(*input.connection, "close");
  const bool asked_keep_alive = input.connection && header_has_token(*input.connection, "keep-alive");
  const bool limit_reached = input.max_requests != 0 && input.requests_served >= input.max_requests;
  const bool server_closes = input.must_close || input.shutting_down || limit_reached;

  if (input.version_minor >= 1) {
    if (asked_close || server_closes) return {false, "close"};
    return {true, {}};
  }
  // HTTP/1.0: persistent only on request, and the response must say so.
  if (asked_keep_alive && !asked_close && !server_closes) return {true, "keep-alive"};
  return {false, "close"};
}

}  // namespace pulse::http
