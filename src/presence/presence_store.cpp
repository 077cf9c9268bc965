// The small pieces of behaviour of the PresenceStore value types.
#include "pulse/presence/presence_store.hpp"

#include <numeric>

namespace pulse::presence {

std::string_view to_string(BeatOutcome outcome) noexcept {
  switch (outcome) {
    case BeatOutcome::kCreated: return "created";
    case BeatOutcome::kUpdated: return "updated";
    case BeatOutcome::kRateLimited: return "rate_limited";
    case BeatOutcome::kFull: return "full";
    case BeatOutcome::kInvalid: return "invalid";
    case BeatOutcome::kNotFound: return "not_found";
  }
  return "unknown";
}

std::string_view to_string(Signal signal) noexcept {
  switch (signal) {
    case Signal::kBeat: return "beat";
    case Signal::kStart: return "start";
    case Signal::kFail: return "fail";
    case Signal::kExit: return "exit";
    case Signal::kPause: return "pause";
    case Signal::kHold: return "hold";
    case Signal::kAlive: return "alive";
    case Signal::kRelease: return "release";
  }
  return "unknown";
}

std::string_view to_string(HistoryKind kind) noexcept {
  return kind == HistoryKind::kRun ? "run" : "change";
}

std::string_view to_string(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::kJoin: return "join";
    case EventKind::kChange: return "change";
    case EventKind::kLeave: return "leave";
  }
  return "unknown";
}

std::string_view to_string(LeaveReason reason) noexcept {
  return reason == LeaveReason::kExpired ? "expired" : "signed_off";
}

std::size_t StateCounts::total() const noexcept {
  return std::accumulate(by_state.begin(), by_state.end(), std::size_t{0});
}

bool ListFilter::matches(const ClientView& client) const noexcept {
  return states.test(index_of(client.state)) && client.id.starts_with(prefix);
}

}  // namespace pulse::presence
