// The connection's deadline rules as one pure function: from its state, times and limits, when
// it must next make progress and what happens if it does not. Tested as a table.
#pragma once

#include <chrono>
#include <string_view>

#include "pulse/base/monotonic_clock.hpp"
#include "pulse/http/connection_state.hpp"
#include "pulse/http/limits.hpp"

namespace pulse::http {

enum class TimeoutAction {
  kNone,            // no deadline
  kClose,           // close without a word: the client stopped reading, went idle, or lingered out
  kRequestTimeout,  // answer 408 (the client is still sending), then close
};

[[nodiscard]] std::string_view to_string(TimeoutAction action) noexcept;

// When the connection last did what each deadline counts from.
struct ActivityTimes {
  base::MonotonicClock::time_point request_started{};      // the current request's first byte
  base::MonotonicClock::time_point body_started{};         // the current request's headers ended
  base::MonotonicClock::time_point last_activity{};        // last request byte or write progress
  base::MonotonicClock::time_point last_write_progress{};  // last write that moved bytes
  base::MonotonicClock::time_point linger_until{};         // fixed when lingering began
};

struct DeadlineInput {
  ConnectionState state = ConnectionState::kOpen;  // awaiting a deferred response: only the write timeout
  bool output_queued = false;
  // Part of a request has arrived: the parser is inside a message or bytes wait unparsed.
  bool request_in_progress = false;
  bool headers_complete = false;
  bool first_request = true;  // nothing has been answered yet on this connection
  ActivityTimes times;
};

struct Deadline {
  base::MonotonicClock::time_point at = base::MonotonicClock::time_point::max();  // max(): none
  TimeoutAction action = TimeoutAction::kNone;

  friend bool operator==(const Deadline&, const Deadline&) = default;
};

// Uses the header, body, keep-alive and write timeouts of `limits`.
[[nodiscard]] Deadline next_deadline(const DeadlineInput& input, const Limits& limits) noexcept;

}  // namespace pulse::http
