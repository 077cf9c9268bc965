// The deadline table: connection state x what is pending -> when, and what happens then; and the
// timer that chases the deadline.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>

#include "pulse/http/deadline.hpp"
#include "pulse/http/deadline_timer.hpp"
#include "pulse/net/timer_wheel.hpp"

using namespace std::chrono_literals;
using pulse::http::ConnectionState;
using pulse::http::DeadlineInput;
using pulse::http::Limits;
using pulse::http::next_deadline;
using pulse::http::TimeoutAction;

namespace {

using TimePoint = pulse::base::MonotonicClock::time_point;

// Distinct times and limits, so each expected deadline can come from one rule only.
const TimePoint kT0{std::chrono::hours(1)};
const TimePoint kRequestStarted = kT0 + 1s;
const TimePoint kLastActivity = kT0 + 2s;
const TimePoint kLastWriteProgress = kT0 + 3s;
const TimePoint kLingerUntil = kT0 + 4s;
const TimePoint kBodyStarted = kT0 + 500ms;
constexpr auto kHeaderTimeout = 10s;
constexpr auto kBodyTimeout = 20s;  // bites at kT0 + 20.5 s: later than every rule in the table
constexpr auto kKeepaliveTimeout = 15s;
constexpr auto kWriteTimeout = 30s;

struct Row {
  ConnectionState state;
  bool output_queued;
  bool request_in_progress;
  bool headers_complete;
  bool first_request;
  std::optional<TimePoint> at;  // nullopt: no deadline
  TimeoutAction action;
};

DeadlineInput input_for(const Row& row) {
  return {
      .state = row.state,
      .output_queued = row.output_queued,
      .request_in_progress = row.request_in_progress,
      .headers_complete = row.headers_complete,
      .first_request = row.first_request,
      .times = {.request_started = kRequestStarted,
                .body_started = kBodyStarted,
                .last_activity = kLastActivity,
                .last_write_progress = kLastWriteProgress,
                .linger_until = kLingerUntil},
  };
}

Limits limits() {
  Limits limits;
  limits.header_timeout = kHeaderTimeout;
  limits.body_timeout = kBodyTimeout;
  limits.keepalive_timeout = kKeepaliveTimeout;
  limits.write_timeout = kWriteTimeout;
  return limits;
}

}  // namespace

TEST_CASE("deadline table", "[deadline]") {
  using S = ConnectionState;
  using A = TimeoutAction;
  const auto write = kLastWriteProgress + kWriteTimeout;
  const auto header_from_start = kRequestStarted + kHeaderTimeout;
  const auto header_from_activity = kLastActivity + kHeaderTimeout;
  const auto keepalive = kLastActivity + kKeepaliveTimeout;
  const Row rows[] = {
      // state, output, in request, headers done, first request -> deadline, action
      // Closed: nothing to wait for.
      {S::kClosed, true, true, false, false, std::nullopt, A::kNone},
      // Lingering: its own fixed deadline, whatever else is pending.
      {S::kLingering, false, false, false, false, kLingerUntil, A::kClose},
      {S::kLingering, true, true, false, true, kLingerUntil, A::kClose},
      // Output queued: write progress rules, in every serving state, before anything else.
      {S::kOpen, true, false, false, false, write, A::kClose},
      {S::kOpen, true, true, false, false, write, A::kClose},
      {S::kClosingAfterFlush, true, false, false, false, write, A::kClose},
      {S::kPeerHalfClosed, true, false, false, false, write, A::kClose},
      {S::kStreaming, true, false, false, false, write, A::kClose},
      {S::kStreamingToHalfClosedPeer, true, false, false, false, write, A::kClose},
      // Streaming with nothing queued: no deadline (not even with stray input).
      {S::kStreaming, false, false, false, false, std::nullopt, A::kNone},
      {S::kStreaming, false, true, false, false, std::nullopt, A::kNone},
      {S::kStreamingToHalfClosedPeer, false, false, false, false, std::nullopt, A::kNone},
      // Awaiting a deferred response: the producer bounds it, so no request or keep-alive timeout,
      // even with a pipelined request half-buffered behind it; only a stuck write still counts.
      {S::kAwaitingResponse, false, false, false, true, std::nullopt, A::kNone},
      {S::kAwaitingResponse, false, false, false, false, std::nullopt, A::kNone},
      {S::kAwaitingResponse, false, true, false, false, std::nullopt, A::kNone},
      {S::kAwaitingResponse, false, true, true, false, std::nullopt, A::kNone},
      {S::kAwaitingResponseToHalfClosedPeer, false, false, false, false, std::nullopt, A::kNone},
      {S::kAwaitingResponse, true, false, false, false, write, A::kClose},
      {S::kAwaitingResponseToHalfClosedPeer, true, false, false, false, write, A::kClose},
      // A request arriving: from its first byte until headers complete, then from last activity.
      {S::kOpen, false, true, false, false, header_from_start, A::kRequestTimeout},
      {S::kOpen, false, true, false, true, header_from_start, A::kRequestTimeout},
      {S::kOpen, false, true, true, false, header_from_activity, A::kRequestTimeout},
      {S::kPeerHalfClosed, false, true, false, false, header_from_start, A::kRequestTimeout},
      {S::kClosingAfterFlush, false, true, true, false, header_from_activity, A::kRequestTimeout},
      // Between requests: the header timeout before the first one, keep-alive idle after.
      {S::kOpen, false, false, false, true, header_from_activity, A::kClose},
      {S::kOpen, false, false, false, false, keepalive, A::kClose},
      {S::kClosingAfterFlush, false, false, false, false, keepalive, A::kClose},
  };
  for (const auto& row : rows) {
    INFO("state=" << to_string(row.state) << " output=" << row.output_queued
                  << " in_request=" << row.request_in_progress << " headers_complete=" << row.headers_complete
                  << " first=" << row.first_request);
    const auto deadline = next_deadline(input_for(row), limits());
    CHECK(deadline.action == row.action);
    CHECK(deadline.at == row.at.value_or(TimePoint::max()));
  }
}

TEST_CASE("the header timeout before headers complete ignores progress (slowloris)", "[deadline]") {
  auto input = input_for({ConnectionState::kOpen, false, true, false, false, std::nullopt, TimeoutAction::kNone});
  const auto before = next_deadline(input, limits());
  input.times.last_activity += 5s;  // a byte a second does not buy more time
  CHECK(next_deadline(input, limits()) == before);
  input.headers_complete = true;  // a body may pause up to a header timeout
  CHECK(next_deadline(input, limits()).at == input.times.last_activity + kHeaderTimeout);
}

TEST_CASE("a body that keeps trickling still ends at the body timeout", "[deadline]") {
  auto input = input_for({ConnectionState::kOpen, false, true, true, false, std::nullopt, TimeoutAction::kNone});
  for (const auto activity : {1s, 5s, 9s, 15s, 19s, 30s}) {
    input.times.last_activity = kBodyStarted + activity;  // a byte now and then
    const auto deadline = next_deadline(input, limits());
    INFO("last byte " << activity.count() << " s into the body");
    CHECK(deadline.action == TimeoutAction::kRequestTimeout);
    CHECK(deadline.at == std::min(input.times.last_activity + kHeaderTimeout, kBodyStarted + kBodyTimeout));
  }
  input.times.last_activity = kBodyStarted + 19s;
  CHECK(next_deadline(input, limits()).at == kBodyStarted + kBodyTimeout);
}

TEST_CASE("timeout actions have names for logs", "[deadline]") {
  CHECK(to_string(TimeoutAction::kNone) == "none");
  CHECK(to_string(TimeoutAction::kClose) == "close");
  CHECK(to_string(TimeoutAction::kRequestTimeout) == "408 then close");
}

TEST_CASE("the deadline timer is re-armed only when the deadline moves earlier", "[deadline]") {
  const TimePoint start = kT0;
  pulse::net::TimerWheel wheel(start);
  int fired = 0;
  pulse::http::DeadlineTimer timer([](void* count) { ++*static_cast<int*>(count); }, &fired);
  timer.chase(wheel, start + 100ms);
  CHECK(timer.armed());
  timer.chase(wheel, start + 200ms);  // later: the owner re-checks when the timer fires
  timer.chase(wheel, start + 50ms);   // earlier: the timer moves
  CHECK(wheel.size() == 1);
  wheel.advance(start + 40ms);
  CHECK(fired == 0);
  wheel.advance(start + 60ms);  // fires at the earlier deadline, not at 100 ms
  CHECK(fired == 1);
  CHECK_FALSE(timer.armed());
  wheel.advance(start + 250ms);  // the later chases did not leave a timer of their own
  CHECK(fired == 1);

  timer.chase(wheel, start + 500ms);
  CHECK(timer.armed());
  timer.chase(wheel, TimePoint::max());  // no deadline: nothing may fire
  CHECK_FALSE(timer.armed());
  CHECK(wheel.size() == 0);
  wheel.advance(start + 1s);
  CHECK(fired == 1);
}
