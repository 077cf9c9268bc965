// Deadline rules: write progress first, then the request being received, then idle keep-alive.
#include "pulse/http/deadline.hpp"

#include <algorithm>

namespace pulse::http {

std::string_view to_string(TimeoutAction action) noexcept {
  switch (action) {
    case TimeoutAction::kNone: return "none";
    case TimeoutAction::kClose: return "close";
    case TimeoutAction::kRequestTimeout: return "408 then close";
  }
  return "?";
}

Deadline next_deadline(const DeadlineInput& input, const Limits& limits) noexcept {
  const ActivityTimes& times = input.times;
  if (input.state == ConnectionState::kClosed) return {};
  if (input.state == ConnectionState::kLingering) return {times.linger_until, TimeoutAction::kClose};
  // A client that stops reading is given up on, whatever else is pending.
  if (input.output_queued) return {times.last_write_progress + limits.write_timeout, TimeoutAction::kClose};
  // The producer's keep-alive comments keep an event stream busy; a dead reader shows as a
  // write that makes no progress.
  if (is_streaming(input.state)) return {};
  // A deferred response is the producer's to bound (a store call has its own timeout, and a
  // dropped one answers 503), so neither a request nor a keep-alive timeout runs meanwhile.
  if (is_awaiting_response(input.state)) return {};
  if (input.request_in_progress) {
    // From the first byte of a request: progress does not extend it (defeats slowloris).
    if (!input.headers_complete) return {times.request_started + limits.header_timeout, TimeoutAction::kRequestTimeout};
    // A body must keep coming (a pause as long as the header timeout ends it) and must be done
    // within the body timeout, however steadily it trickles.
    const auto at = std::min(times.last_activity + limits.header_timeout, times.body_started + limits.body_timeout);
    return {at, TimeoutAction::kRequestTimeout};
  }
  // The first request must come as fast as headers must; later ones may idle longer.
  const auto idle = input.first_request ? limits.header_timeout : limits.keepalive_timeout;
  return {times.last_activity + idle, TimeoutAction::kClose};
}

}  // namespace pulse::http
