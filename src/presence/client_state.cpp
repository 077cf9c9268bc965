// Names of client states and health values, and the default grace.
#include "pulse/presence/client_state.hpp"

#include <algorithm>

#include "pulse/presence/limits.hpp"

namespace pulse::presence {

std::string_view to_string(ClientState state) noexcept {
  switch (state) {
    case ClientState::kUp: return "up";
    case ClientState::kLate: return "late";
    case ClientState::kDown: return "down";
    case ClientState::kFailing: return "failing";
    case ClientState::kPaused: return "paused";
  }
  return "unknown";
}

std::optional<ClientState> client_state_from_string(std::string_view name) noexcept {
  for (const ClientState state : kAllClientStates) {
    if (to_string(state) == name) return state;
  }
  return std::nullopt;
}

std::string_view to_string(Health health) noexcept {
  return health == Health::kFail ? "fail" : "ok";
}

std::optional<Health> health_from_string(std::string_view name) noexcept {
  if (name == "ok") return Health::kOk;
  if (name == "fail") return Health::kFail;
  return std::nullopt;
}

std::chrono::seconds default_grace(std::chrono::seconds interval) noexcept {
  return std::max(interval / 2, kDefaultGraceFloor);
}

}  // namespace pulse::presence
