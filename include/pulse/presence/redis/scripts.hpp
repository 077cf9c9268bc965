// The Lua scripts through which every change reaches Redis (src/presence/redis/scripts/*.lua,
// built into the library). Each is common.lua followed by its own body.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pulse::presence::redis {

enum class Script : std::uint8_t { kBeat, kRemove, kSweep, kList, kTakeBeaten, kRestore };
inline constexpr std::size_t kScriptCount = 6;
inline constexpr std::array<Script, kScriptCount> kAllScripts{Script::kBeat, Script::kRemove,     Script::kSweep,
                                                              Script::kList, Script::kTakeBeaten, Script::kRestore};

[[nodiscard]] constexpr std::size_t index_of(Script script) noexcept {
  return static_cast<std::size_t>(script);
}
[[nodiscard]] std::string_view to_string(Script script) noexcept;
// The whole text sent with SCRIPT LOAD.
[[nodiscard]] std::string_view script_source(Script script) noexcept;

}  // namespace pulse::presence::redis
