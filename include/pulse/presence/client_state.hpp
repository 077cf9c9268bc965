// ClientState and Health: what the registry says about a client, and the one rule that derives it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "pulse/presence/clock.hpp"

namespace pulse::presence {

// up: beating on time. late: the interval passed without a beat. down: the grace passed too.
// failing: beating on time but reporting status=fail (alive and unhealthy, not a missed beat).
// paused: POST /heartbeat/{id}/pause (maintenance): no alarms, and time changes nothing, until
// the client's next beat.
enum class ClientState : std::uint8_t { kUp, kLate, kDown, kFailing, kPaused };
inline constexpr std::size_t kClientStateCount = 5;
inline constexpr std::array<ClientState, kClientStateCount> kAllClientStates{
    ClientState::kUp, ClientState::kLate, ClientState::kDown, ClientState::kFailing, ClientState::kPaused};

// What the client says about itself in a beat (status=ok|fail).
enum class Health : std::uint8_t { kOk, kFail };

[[nodiscard]] std::string_view to_string(ClientState state) noexcept;
[[nodiscard]] std::optional<ClientState> client_state_from_string(std::string_view name) noexcept;
[[nodiscard]] std::string_view to_string(Health health) noexcept;
[[nodiscard]] std::optional<Health> health_from_string(std::string_view name) noexcept;

[[nodiscard]] constexpr std::size_t index_of(ClientState state) noexcept {
  return static_cast<std::size_t>(state);
}
// Online means the server still expects the client: everything but down and paused.
[[nodiscard]] constexpr bool is_online(ClientState state) noexcept {
  return state != ClientState::kDown && state != ClientState::kPaused;
}

// The state at `now` of a client whose last beat reported `health` and set these deadlines.
// Only the store's clock enters here; nothing the client sent but its health and a pause.
[[nodiscard]] constexpr ClientState state_at(Time now, Time next_due, Time down_at, Health health,
                                             bool paused = false) noexcept {
  if (paused) return ClientState::kPaused;
  if (now < next_due) return health == Health::kFail ? ClientState::kFailing : ClientState::kUp;
  if (now < down_at) return ClientState::kLate;
  return ClientState::kDown;
}

// max(interval / 2, kDefaultGraceFloor), in whole seconds.
[[nodiscard]] std::chrono::seconds default_grace(std::chrono::seconds interval) noexcept;

}  // namespace pulse::presence
